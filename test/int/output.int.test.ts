import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { createKafka } from '../../src/kafka/client.js';
import { ensureTopics, withAdmin } from '../../src/kafka/topics.js';
import { listCustomers, salesReport } from '../../src/db/read-store.js';
import { cliEntry, repoRoot, runCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, testKafka, type TestMongo } from '../helpers/env.js';
import { projectUntilIdle, sendRaw } from '../helpers/shop.js';

// What people see: tables that fit the terminal (and are whole on a pipe), dead letters of
// garbage bytes shown escaped, a closed pipe ending quietly, and the reads that were slow giving
// the same answers whichever way they are made.

// The built binary, in node itself (as test/helpers/cli.ts runs it).
const nodeBin = process.execPath;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
// Raw control bytes a terminal would act on (newline aside), and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;


/**
 * `shopctl ARGS` on a pseudo-terminal of `columns` columns (util-linux `script`), stderr
 * dropped: what a person at an 80-column terminal sees on stdout.
 */
function onTerminal(file: string, columns: number, args: readonly string[]): { lines: string[]; text: string } {
  const quoted = [nodeBin, cliEntry, '--config', file, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('script', ['-qec', `stty cols ${columns}; ${quoted} 2>/dev/null`, '/dev/null'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  expect(result.status, result.stderr).toBe(0);
  const text = result.stdout.replace(/\r/g, '');
  return { text, lines: text.split('\n').filter((line) => line.length > 0) };
}

/**
 * Spawns `shopctl ARGS` with stdout into a pipe whose reading end is closed after `afterBytes`
 * bytes came (0: before the command writes anything), like `shopctl ARGS | head -c N`.
 */
function withClosedPipe(file: string, args: readonly string[], afterBytes: number): Promise<{ code: number | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [cliEntry, '--config', file, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let read = 0;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (afterBytes === 0) child.stdout.destroy();
    else {
      child.stdout.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= afterBytes) child.stdout.destroy();
      });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, read });
    });
  });
}

describe('output for people and for pipes', () => {
  let config: Config;
  let mongo: TestMongo;
  let file: string;
  let dir: string;
  const cli = (...args: string[]) => runCli(['--config', file, ...args], {}, { timeoutMs: 90_000 });
  const ok = async (...args: string[]): Promise<string> => {
    const result = await cli(...args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    config = testConfig({ consume: { maxRetries: 1, retryBackoffMs: 100 } });
    dir = await mkdtemp(path.join(tmpdir(), 'shopctl-output-'));
    file = path.join(dir, 'shopctl.yaml');
    await writeFile(file, stringify(config));
    mongo = await connectTestMongo(config);
    await ok('make', 'customers', '--count', '12', '--seed', '51', '--via', 'db');
    await ok('make', 'products', '--count', '5', '--seed', '52', '--via', 'db');
    await ok('buy', '--random', '--count', '60', '--seed', '53', '--via', 'db');
  }, 120_000);

  afterAll(async () => {
    await mongo.drop();
    await rm(dir, { recursive: true, force: true });
    const admin = testKafka(config).admin();
    await admin.connect();
    try {
      const mine = new Set(Object.values(config.kafka.topics));
      const existing = (await admin.listTopics()).filter((topic) => mine.has(topic));
      if (existing.length > 0) await admin.deleteTopics({ topics: existing });
    } catch {
      // Best effort: unique names, harmless if left.
    } finally {
      await admin.disconnect();
    }
  });

  it('on a pipe, tables are whole: full ids, nothing cut, a rule under the header', async () => {
    const ids = (JSON.parse(await ok('list', 'customers', '--json')) as Array<{ id: string }>).map((c) => c.id);
    const table = await ok('list', 'customers');
    for (const id of ids) expect(table).toContain(id);
    expect(table).not.toContain('…');
    const lines = table.split('\n');
    expect(lines[1]).toMatch(/^│ id\s+│ name/);
    expect(lines[2]).toMatch(/^├─+┼/);
    // Wider than a terminal would be: nothing was fitted.
    expect(Math.max(...lines.map((line) => line.length))).toBeGreaterThan(80);
    const config = await ok('config', 'show');
    expect(config).toContain(file);
    expect(config).not.toContain('…');
  });

  // util-linux `script` (Debian's bsdutils, an essential package) makes the pseudo-terminal.
  it('on an 80-column terminal every table fits, ids short; --wide prints them whole', () => {
    const commands = [['list', 'customers'], ['list', 'purchases'], ['list', 'products'], ['config', 'show'], ['report', 'sales'], ['list', 'stock']];
    for (const args of commands) {
      const { lines, text } = onTerminal(file, 80, args);
      expect(lines.length, `${args.join(' ')}:\n${text}`).toBeGreaterThan(3);
      for (const line of lines) expect(line.length, `${args.join(' ')}: ${line}`).toBeLessThanOrEqual(80);
      expect(text, args.join(' ')).not.toMatch(UUID);
    }
    const customers = onTerminal(file, 80, ['list', 'customers']).text;
    expect(customers).toMatch(/│ [0-9a-f]{8} │/);
    const wide = onTerminal(file, 80, ['--wide', 'list', 'customers']);
    expect(wide.text).toMatch(UUID);
    expect(Math.max(...wide.lines.map((line) => line.length))).toBeGreaterThan(80);
    // Names, not ids, for the customer of a purchase.
    const names = (JSON.parse(spawnSync(nodeBin, [cliEntry, '--config', file, 'list', 'customers', '--json'], { cwd: repoRoot, encoding: 'utf8' }).stdout) as Array<{ firstName: string }>).map((c) => c.firstName);
    const purchases = onTerminal(file, 120, ['list', 'purchases']).text;
    expect(names.some((name) => purchases.includes(name)), purchases).toBe(true);
  });

  it('a dead letter of raw bytes is shown escaped in errors list and errors show; --json stays JSON', async () => {
    await withAdmin(createKafka(config), config, (admin) => ensureTopics(admin, config));
    await sendRaw(config, config.kafka.topics.inventory, [
      { key: Buffer.from([0x6b, 0x00, 0xff]), value: Buffer.from([0x00, 0xff, 0xfe, 0x1b]), headers: { origin: Buffer.from([0x41, 0x00, 0xff, 0x1b, 0x5b, 0x33, 0x31, 0x6d]) } },
    ]);
    const totals = await projectUntilIdle(config, mongo, { idleMs: 2000 });
    expect(totals.deadLettered).toBe(1);

    const listed = await ok('errors', 'list');
    expect(listed).toContain('invalid_json');
    expect(CONTROL.test(listed), JSON.stringify(listed)).toBe(false);
    expect(listed).toContain('\\x00');
    expect(listed).toContain('\\x1b');

    const json = JSON.parse(await ok('errors', 'list', '--json')) as { letters: Array<{ id: string; message: string }> };
    expect(json.letters).toHaveLength(1);
    expect(json.letters[0]!.message).toContain('\u0000');

    const shown = await ok('errors', 'show', json.letters[0]!.id);
    expect(CONTROL.test(shown), JSON.stringify(shown)).toBe(false);
    expect(shown).toMatch(/hex:\s+00 ff fe 1b/);
    expect(shown).toContain('text: \\x00\\xff\\xfe\\x1b');
    expect(shown).toMatch(/key\s+│ k\\x00\\xff/);
    expect(shown).toMatch(/origin\s+│ A\\x00\\xff\\x1b\[31m/);
    const record = JSON.parse(await ok('errors', 'show', json.letters[0]!.id, '--json')) as { key: string | null };
    expect(record.key).toContain('\u0000');
  }, 120_000);

  it('a closed pipe ends the command quietly with exit 0 (config show, list stock)', async () => {
    const closed = await withClosedPipe(file, ['config', 'show'], 0);
    expect(closed.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(closed.code).toBe(0);

    // More stock rows than a pipe holds (64 KiB): the reader goes away after the first chunk
    // while the command is still writing.
    await ok('make', 'products', '--count', '1500', '--seed', '54', '--via', 'db');
    const stock = await withClosedPipe(file, ['list', 'stock', '--limit', '2000'], 1);
    expect(stock.read).toBeGreaterThan(0);
    expect(stock.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(stock.code).toBe(0);
  }, 120_000);

  it('a closed pipe keeps a failure a failure: a usage error whose stderr reader went away still exits 2', () => {
    // `shopctl buy --random --count 0 2>&1 | head -c 0`: the message cannot be written, the exit code stays.
    for (let i = 0; i < 3; i += 1) {
      const result = spawnSync('bash', ['-c', `'${nodeBin}' '${cliEntry}' buy --random --count 0 2>&1 | head -c 0; echo "\${PIPESTATUS[0]}"`], { cwd: repoRoot, encoding: 'utf8' });
      expect(result.stdout.trim()).toBe('2');
    }
  });

  it('the fast reads give the same answers as the server-side ones', async () => {
    for (const sort of ['purchases', 'name'] as const) {
      const server = await listCustomers(mongo.db, sort, 5, 'server');
      const scan = await listCustomers(mongo.db, sort, 5, 'scan');
      expect(scan).toEqual(server);
    }
    const top = await listCustomers(mongo.db, 'purchases', 12, 'scan');
    const counts = top.map((c) => c.purchases);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(60);
    for (const customer of top) expect(customer.owned.reduce((a, item) => a + item.quantity, 0)).toBeGreaterThanOrEqual(customer.purchases);

    // All time (from the stock documents) equals since the beginning (from the purchases), both ways.
    const allTime = await salesReport(mongo.db, { top: 10 });
    // An unpatched FerretDB computes only the first accumulator of a $group: the server plan is MongoDB's (and the patched stack's).
    const serverPlan = mongo.server.kind === 'mongodb' || mongo.server.patched ? 'server' : 'scan';
    const sinceServer = await salesReport(mongo.db, { top: 10, since: '2000-01-01T00:00:00.000Z' }, serverPlan);
    const sinceScan = await salesReport(mongo.db, { top: 10, since: '2000-01-01T00:00:00.000Z' }, 'scan');
    expect(sinceServer).toEqual(allTime);
    expect(sinceScan).toEqual(allTime);
    const bought = await mongo.db.collection('purchases').find({}, { projection: { quantity: 1 } }).toArray();
    expect(allTime.reduce((a, row) => a + row.quantity, 0)).toBe(bought.reduce((a, p) => a + (p.quantity as number), 0));
    expect(await salesReport(mongo.db, { top: 10, since: '2999-01-01T00:00:00.000Z' }, 'scan')).toEqual([]);
  });
});
