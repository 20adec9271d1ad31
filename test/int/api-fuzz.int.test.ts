import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, spawnCli } from '../helpers/cli.js';

// A real outside client: schemathesis (PyPI, in a virtualenv that scripts/api-fuzz/setup.sh makes
// and .ci/run prepares) fuzzes the live `shopctl serve` from its own /openapi.json, with a fixed
// seed and a bounded number of cases per operation. It fails on any 5xx, any answer that breaks
// its documented schema, status or content type, any input the document calls invalid that is
// accepted, a write endpoint that ignores the token, and a method a path lacks that is not 405
// with Allow (scripts/api-fuzz/README.md lists the checks and why). /events is a stream that never
// ends: it is left out here and tested in serve.int.test.ts.

const TOKEN = `fuzz-${randomBytes(6).toString('hex')}`;
const servers: ChildProcessWithoutNullStreams[] = [];

afterAll(() => {
  for (const server of servers) if (server.exitCode === null) server.kill('SIGTERM');
});

async function serve(namespace: string, args: string[], env: Record<string, string>): Promise<{ url: string; stderr: () => string }> {
  const server = spawnCli(['serve', '--port', '0', ...args], { SHOPCTL_NAMESPACE: namespace, ...env });
  servers.push(server);
  let stdout = '';
  let stderr = '';
  server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s:\n${stdout}\n${stderr}`)), 20_000);
    server.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = /serving (http:\/\/\S+)/.exec(stdout);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    server.once('exit', (code) => reject(new Error(`serve exited ${code}:\n${stdout}\n${stderr}`)));
  });
  return { url, stderr: () => stderr };
}

function fuzz(url: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(repoRoot, 'scripts', 'api-fuzz', 'run.sh'), `${url}/openapi.json`, '--exclude-path', '/events'], {
      env: { ...process.env, SHOPCTL_FUZZ_TIMEOUT: '240', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function shop(namespace: string): Promise<void> {
  for (const args of [
    ['make', 'products', '--count', '5', '--seed', '3', '--via', 'db'],
    ['make', 'customers', '--count', '5', '--seed', '3', '--via', 'db'],
  ]) {
    const result = await runCli(args, { SHOPCTL_NAMESPACE: namespace }, { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
  }
}

describe('schemathesis against the live server', () => {
  it('finds nothing wrong with --via db and a token (writes need it, reads do not)', async () => {
    const namespace = `fuzz-db-${randomBytes(3).toString('hex')}`;
    await shop(namespace);
    const server = await serve(namespace, [], { SHOPCTL_SERVE_TOKEN: TOKEN });
    const result = await fuzz(server.url, { SHOPCTL_FUZZ_TOKEN: TOKEN });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/api-fuzz: passed/);
    // It really tested: thousands of cases over every operation but the stream.
    const generated = Number(/(\d+) generated/.exec(result.output)?.[1] ?? 0);
    expect(generated).toBeGreaterThan(500);
    expect(result.output).toMatch(/Tested: 22/);
    expect(server.stderr()).not.toContain(TOKEN);
  }, 300_000);

  it('finds nothing wrong with --via kafka and no token', async () => {
    const namespace = `fuzz-kafka-${randomBytes(3).toString('hex')}`;
    await shop(namespace);
    const server = await serve(namespace, ['--via', 'kafka'], {});
    const result = await fuzz(server.url, { SHOPCTL_FUZZ_EXAMPLES: '15' });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/api-fuzz: passed/);
  }, 300_000);
});
