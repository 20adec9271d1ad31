// The real CLI, as a child process: what a user sees when a service is down, when the
// configuration is broken, and the basics (--version, --help, config show).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOutput, repoRoot, runCli, stackTraceLines, type CliResult } from '../helpers/cli.js';
import { defaultConfig } from '../../src/config/schema.js';
import { cliEnv, testConfig } from '../helpers/env.js';

const DEAD_ENDPOINT = '127.0.0.1:1';
// Past start-up, a command must give up on a dead port within twice its longest configured wait
// (the user should not wait on a dead port): 6 s with the defaults, where it takes 2-3 s.
const GIVE_UP_MS = 2 * Math.max(defaultConfig.mongodb.serverSelectionTimeoutMs, defaultConfig.kafka.connectionTimeoutMs);

const config = testConfig();
// A unique database and group, so nothing here can touch what other tests or engineers use.
const baseEnv = { ...cliEnv(config), SHOPCTL_KAFKA_LOG: undefined };

function describeResult(result: CliResult): string {
  return `exit ${result.code} after ${result.ms} ms\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/**
 * Runs a command that needs a service, and just before it the same command with --help: the same
 * process start-up (tsx, loading every module) with no connection. The difference is the time the
 * command spent trying to connect, whatever the machine's load does to start-up.
 */
async function runUnreachable(args: readonly string[], env: Record<string, string | undefined>): Promise<CliResult & { startupMs: number }> {
  const startup = await runCli([...args, '--help'], env);
  expect(startup.code, describeResult(startup)).toBe(0);
  return { ...(await runCli(args, env)), startupMs: startup.ms };
}

function expectUnavailable(result: CliResult & { startupMs: number }, endpoint: string): void {
  const context = `${describeResult(result)}\n--- start-up alone took ${result.startupMs} ms`;
  expect(result.timedOut, context).toBe(false);
  expect(result.code, context).toBe(4);
  expect(result.ms - result.startupMs, context).toBeLessThan(GIVE_UP_MS);
  expect(result.stderr, context).toContain(endpoint);
  expect(result.stderr, context).toContain('stack:up');
  expect(stackTraceLines(allOutput(result)), context).toEqual([]);
}

afterAll(async () => {
  // The Kafka-down cases still reach the real MongoDB configuration; make sure nothing is left.
  const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db(config.mongodb.db).dropDatabase();
  } finally {
    await client.close();
  }
});

describe('Kafka unreachable', () => {
  const env = { ...baseEnv, SHOPCTL_KAFKA_BROKERS: DEAD_ENDPOINT };

  it('topics describe exits 4 naming the broker', async () => {
    expectUnavailable(await runUnreachable(['topics', 'describe'], env), DEAD_ENDPOINT);
  });

  it('make customers --via kafka exits 4 naming the broker, and prints no SASL password', async () => {
    const result = await runUnreachable(['make', 'customers', '--count', '3', '--via', 'kafka'], {
      ...env,
      SHOPCTL_KAFKA_SASL_MECHANISM: 'plain',
      SHOPCTL_KAFKA_SASL_USERNAME: 'app',
      SHOPCTL_KAFKA_SASL_PASSWORD: 'kafka-hunter2',
    });
    expectUnavailable(result, DEAD_ENDPOINT);
    expect(allOutput(result)).not.toContain('kafka-hunter2');
  });
});

describe('MongoDB unreachable', () => {
  const env = { ...baseEnv, SHOPCTL_MONGODB_URI: `mongodb://${DEAD_ENDPOINT}` };

  it('list customers exits 4 naming the server', async () => {
    expectUnavailable(await runUnreachable(['list', 'customers'], env), DEAD_ENDPOINT);
  });

  it('make customers --via db exits 4 naming the server', async () => {
    expectUnavailable(await runUnreachable(['make', 'customers', '--count', '3', '--via', 'db'], env), DEAD_ENDPOINT);
  });

  it('never prints the password from the URI', async () => {
    const withPassword = { ...baseEnv, SHOPCTL_MONGODB_URI: `mongodb://bob:hunter2@${DEAD_ENDPOINT}` };
    for (const args of [
      ['list', 'customers'],
      ['make', 'customers', '--count', '3', '--via', 'db'],
    ]) {
      const result = await runUnreachable(args, withPassword);
      expectUnavailable(result, DEAD_ENDPOINT);
      expect(allOutput(result), args.join(' ')).not.toContain('hunter2');
      // The user name stays, so the user can tell which credentials were used.
      expect(result.stderr).toContain('bob');
    }
  });
});

describe('config show', () => {
  const env = { ...baseEnv, SHOPCTL_MONGODB_URI: 'mongodb://bob:hunter2@db.example:27017/shop' };

  it('--json redacts the password and says the URI came from the environment', async () => {
    const result = await runCli(['config', 'show', '--json'], env);
    expect(allOutput(result)).not.toContain('hunter2');
    const shown = JSON.parse(result.stdout) as { config: { mongodb: { uri: string; db: string } }; sources: Record<string, string> };
    expect(shown.config.mongodb.uri).toBe('mongodb://bob:***@db.example:27017/shop');
    expect(shown.sources['mongodb.uri']).toBe('env');
    expect(shown.config.mongodb.db).toBe(config.mongodb.db);
    expect(shown.sources['mongodb.db']).toBe('env');
  });

  it('--json exits 0 with nothing on stderr', async () => {
    const result = await runCli(['config', 'show', '--json'], env);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('the table redacts the password too and a flag beats the environment', async () => {
    const result = await runCli(['--db', 'from_flag', 'config', 'show'], env);
    expect(result.code, describeResult(result)).toBe(0);
    expect(allOutput(result)).not.toContain('hunter2');
    expect(result.stdout).toMatch(/mongodb\.uri\s.*mongodb:\/\/bob:\*\*\*@db\.example:27017\/shop\s.*\benv\b/);
    expect(result.stdout).toMatch(/mongodb\.db\s.*from_flag\s.*\bflag\b/);
    // An empty map is a setting too, not a missing row.
    expect(result.stdout).toMatch(/inventory\.thresholds\s.*\(none\)/);
  });
});

describe('broken configuration', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'shopctl-cli-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a file with a wrong type exits 2 naming the file and the key, without a stack trace', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, 'kafka:\n  brokers: 5\n');
    // Without SHOPCTL_KAFKA_BROKERS: the environment would otherwise override the bad file value.
    const result = await runCli(['--config', file, 'list', 'customers'], { ...baseEnv, SHOPCTL_KAFKA_BROKERS: undefined });
    const context = describeResult(result);
    expect(result.code, context).toBe(2);
    expect(result.stderr, context).toContain('broken.yaml');
    expect(result.stderr, context).toContain('kafka.brokers');
    expect(result.stderr, context).toMatch(/expected array/i);
    expect(stackTraceLines(allOutput(result)), context).toEqual([]);
  });

  it('a file with bad YAML exits 2 naming the file', async () => {
    const file = path.join(dir, 'syntax.yaml');
    await writeFile(file, 'kafka: [\n  brokers: {\n');
    const result = await runCli(['--config', file, 'config', 'show'], baseEnv);
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain('syntax.yaml');
    expect(stackTraceLines(allOutput(result))).toEqual([]);
  });

  it('--config to a missing file exits 2 naming it', async () => {
    const result = await runCli(['--config', path.join(dir, 'missing.yaml'), 'config', 'show'], baseEnv);
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain('missing.yaml');
    expect(stackTraceLines(allOutput(result))).toEqual([]);
  });

  it('a bad SHOPCTL_* value exits 2 naming the variable', async () => {
    const result = await runCli(['config', 'show'], { ...baseEnv, SHOPCTL_SEED: 'abc' });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain('SHOPCTL_SEED');
    expect(stackTraceLines(allOutput(result))).toEqual([]);
  });
});

describe('basics', () => {
  it('--version prints the package.json version', async () => {
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version'], baseEnv);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('make customers --help shows usage and an Examples: section', async () => {
    const result = await runCli(['make', 'customers', '--help'], baseEnv);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toContain('Usage: shopctl make customers');
    expect(result.stdout).toMatch(/^Examples:$/m);
    expect(result.stdout).toMatch(/^\s+\$ shopctl make customers .*--via kafka/m);
  });
});
