import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The built binary, as a user runs it: `node bin/shopctl.js` (package.json "bin"), which runs
 * dist/cli.js. The int tests' global setup (global-setup.ts) builds dist first when src is newer.
 */
export const cliEntry = path.join(repoRoot, 'bin', 'shopctl.js');

/** The command and arguments that run `shopctl ARGS` (the built binary, in node itself). */
export function cliCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, [cliEntry, ...args]];
}

export interface CliResult {
  /** Exit code, or null when the process was killed by a signal (see `signal`, `timedOut`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time from spawn to exit, in milliseconds. */
  ms: number;
  timedOut: boolean;
}

export interface RunCliOptions {
  /** Working directory (default: the repository root, so its config.yaml is found). */
  cwd?: string;
  /** Kill the process (and its children) after this long; the result then has timedOut = true. */
  timeoutMs?: number;
}

// Inherited variables that would change what the CLI prints: colours and debug stack traces.
// A test that wants one passes it explicitly in `env`.
const scrubbed = ['FORCE_COLOR', 'SHOPCTL_DEBUG'];

/**
 * Runs `shopctl ARGS` as a child process with stdin closed and colours off.
 * `env` is layered over process.env; a key set to undefined removes that variable.
 * Never rejects on a non-zero exit: the caller asserts on code, stdout and stderr.
 */
export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, options: RunCliOptions = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of scrubbed) delete childEnv[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  childEnv.NO_COLOR = '1';

  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // detached: the child leads its own process group, so a timeout kills it (and any process it
    // starts), and nothing else.
    const [command, argv] = cliCommand(args);
    const child = spawn(command, argv, {
      cwd: options.cwd ?? repoRoot,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child.pid);
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started), timedOut });
    });
  });
}

function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Lines that look like a JavaScript stack frame ("    at fn (file:1:2)"); empty when there are none. */
export function stackTraceLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at\s/.test(line));
}

/** Both streams, for "must not appear anywhere in the output" checks. */
export const allOutput = (result: CliResult): string => `${result.stdout}\n${result.stderr}`;

/**
 * Starts `shopctl ARGS` (the built binary) as a long-running child: node itself runs the CLI,
 * so a signal sent to the child reaches the CLI process, SIGKILL included.
 */
export function spawnCli(args: readonly string[], env: Record<string, string | undefined> = {}): ChildProcessWithoutNullStreams {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of scrubbed) delete childEnv[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const [command, argv] = cliCommand(args);
  return spawn(command, argv, { cwd: repoRoot, env: childEnv, stdio: 'pipe' });
}
