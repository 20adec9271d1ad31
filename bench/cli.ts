import { execFile, spawn } from 'node:child_process';
import { access, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { envVariables } from '../src/config/env.js';

const run = promisify(execFile);

export interface CliResult {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set size (VmHWM) in bytes; null where /proc is not available. */
  peakRss: number | null;
}

export interface RunningCli {
  pid: number;
  result: Promise<CliResult>;
  kill(signal: NodeJS.Signals): void;
}

const RSS_POLL_MS = 50;

// Preloaded into every child (--require): on exit it writes its own VmHWM, the kernel's
// high-water mark of its resident set, to <dir>/<pid>.hwm. Polling /proc from outside misses the
// peak of a process that lives less than a poll interval (`--version` lives ~0.1 s).
const HWM_HOOK = `'use strict';
const fs = require('node:fs');
const dir = process.env.SHOPCTL_BENCH_HWM_DIR;
if (dir) process.on('exit', () => {
  try {
    const match = /^VmHWM:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) fs.writeFileSync(dir + '/' + process.pid + '.hwm', match[1]);
  } catch {}
});
`;

/**
 * The real shopctl binary, compiled once per run into a temporary directory (plain `node`, no
 * tsx loader in the measured process: the loader alone adds ~30 MB of RSS and startup time).
 */
export class Cli {
  private readonly running = new Set<RunningCli>();

  private constructor(
    readonly entry: string,
    /** The exit hook (HWM_HOOK) and the folder it writes to. */
    private readonly hwm: { hook: string; dir: string },
    private readonly env: NodeJS.ProcessEnv,
    /** Set when the build had problems worth telling. */
    readonly warning: string | null,
  ) {}

  /**
   * Compiles the working tree, or with `ref` that commit (`git archive` of its sources, built
   * against today's node_modules: a baseline whose dependencies differ is not comparable).
   */
  static async build(repoRoot: string, dir: string, ref?: string): Promise<Cli> {
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const out = path.join(dir, ref ? 'baseline' : 'cli');
    const entry = path.join(out, 'dist', 'cli.js');
    let source = repoRoot;
    if (ref) {
      source = path.join(dir, 'baseline-src');
      await mkdir(source, { recursive: true });
      const files = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src'];
      await run('sh', ['-c', `git archive --format=tar "$1" ${files.join(' ')} | tar -x -C "$2"`, 'sh', ref, source], { cwd: repoRoot });
      await symlink(path.join(repoRoot, 'node_modules'), path.join(source, 'node_modules'), 'dir');
    }
    let warning: string | null = null;
    try {
      await run(process.execPath, [tsc, '-p', path.join(source, 'tsconfig.build.json'), '--outDir', path.join(out, 'dist'), '--sourceMap', 'false'], {
        cwd: source,
      });
    } catch (error) {
      // tsc still emits when the sources have type errors: measure what was emitted, but say so.
      if (!(await access(entry).then(() => true, () => false))) throw error;
      const output = (error as { stdout?: string }).stdout ?? '';
      warning = `the sources do not typecheck; measuring what tsc emitted anyway:\n${output.split('\n').slice(0, 5).join('\n')}`;
    }
    // dist/cli.js reads ../package.json; packages resolve through the symlinked node_modules.
    await copyFile(path.join(source, 'package.json'), path.join(out, 'package.json'));
    await symlink(path.join(repoRoot, 'node_modules'), path.join(out, 'node_modules'), 'dir');
    // The config file given with --config is the whole truth: SHOPCTL_* variables would override it.
    const hwmDir = path.join(out, 'hwm');
    await mkdir(hwmDir, { recursive: true });
    const hook = path.join(out, 'hwm-hook.cjs');
    await writeFile(hook, HWM_HOOK);
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CI: 'true', SHOPCTL_BENCH_HWM_DIR: hwmDir };
    for (const name of Object.keys(envVariables)) delete env[name];
    return new Cli(entry, { hook, dir: hwmDir }, env, warning);
  }

  /**
   * Starts the CLI. `env`: variables added to the child's environment (e.g. SHOPCTL_LOG);
   * `onStdout`: sees its output as it comes (e.g. to wait for a server's address).
   */
  start(args: string[], options: { env?: Record<string, string>; onStdout?: (text: string) => void } = {}): RunningCli {
    const started = performance.now();
    const env = options.env ? { ...this.env, ...options.env } : this.env;
    const child = spawn(process.execPath, ['--require', this.hwm.hook, this.entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid ?? -1;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      options.onStdout?.(text);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    let peak: number | null = null;
    let reading = false;
    // VmHWM is the kernel's own high-water mark, so polling loses at most a peak reached in the
    // last interval before exit.
    const poll = setInterval(() => {
      if (reading) return;
      reading = true;
      void readFile(`/proc/${pid}/status`, 'utf8')
        .then((status) => {
          const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
          if (match?.[1]) peak = Math.max(peak ?? 0, Number(match[1]) * 1024);
        })
        .catch(() => undefined)
        .finally(() => (reading = false));
    }, RSS_POLL_MS);
    const handle: RunningCli = {
      pid,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
      result: new Promise<CliResult>((resolve, reject) => {
        child.once('error', (error) => {
          clearInterval(poll);
          reject(error);
        });
        child.once('close', (code, signal) => {
          const wallMs = performance.now() - started;
          clearInterval(poll);
          this.running.delete(handle);
          // The child's own figure at exit when it wrote one (not when killed by a signal).
          const file = path.join(this.hwm.dir, `${pid}.hwm`);
          void readFile(file, 'utf8')
            .then((kb) => Math.max(peak ?? 0, Number(kb) * 1024), () => peak)
            .then((peakRss) => {
              void rm(file, { force: true });
              resolve({ args, code, signal, stdout, stderr, wallMs, peakRss });
            });
        });
      }),
    };
    this.running.add(handle);
    return handle;
  }

  /** Runs to the end; a non-zero exit is an error that shows what the CLI said. */
  async run(args: string[]): Promise<CliResult> {
    const result = await this.start(args).result;
    if (result.code !== 0) {
      throw new Error(`shopctl ${args.join(' ')} exited with ${result.code ?? result.signal}:\n${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result;
  }

  /** Runs to the end and parses the JSON the command printed (--json). */
  async json<T>(args: string[]): Promise<{ result: CliResult; output: T }> {
    const result = await this.run(args);
    try {
      return { result, output: JSON.parse(result.stdout) as T };
    } catch {
      throw new Error(`shopctl ${args.join(' ')} printed no JSON:\n${result.stdout.slice(0, 2000)}`);
    }
  }

  /** Signals every child still running and waits (at most `timeoutMs`) for them to exit. */
  async stopAll(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    const running = [...this.running];
    for (const handle of running) handle.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled(running.map((handle) => handle.result)), timeout]);
    clearTimeout(timer);
  }
}
