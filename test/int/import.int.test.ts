import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Config } from '../../src/config/schema.js';
import { IMPORT_HEADER } from '../../src/domain/csv.js';
import type { ImportSummary } from '../../src/services/import.js';
import { cliCommand, repoRoot, runCli, spawnCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, testKafka, topicEnd, uniqueName, waitFor, type TestMongo } from '../helpers/env.js';

// `shopctl import` as a user runs it: the real CLI, a config file giving this file its own
// databases and topics, the fixtures in test/fixtures/import.

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'import');
const HEADER = IMPORT_HEADER.join(',');

type Summary = ImportSummary & { exitCode: number };

interface World {
  config: Config;
  file: string;
  mongo: TestMongo;
  cli: (...args: string[]) => ReturnType<typeof runCli>;
}

async function world(): Promise<World> {
  const config = testConfig();
  const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-import-'));
  const file = path.join(dir, 'shopctl.yaml');
  await writeFile(file, stringify(config));
  const mongo = await connectTestMongo(config);
  return { config, file, mongo, cli: (...args) => runCli(['--config', file, ...args], {}, { timeoutMs: 90_000 }) };
}

const json = <T>(text: string): T => JSON.parse(text) as T;

async function stockLevels(mongo: TestMongo): Promise<Record<string, number>> {
  const docs = await mongo.db.collection<{ _id: string; level: number }>('stock').find({}).toArray();
  const pairs = docs.map((doc): [string, number] => [doc._id, doc.level]).sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(pairs);
}

/** Every record of a topic, read from the beginning by a throwaway consumer group. */
async function readTopic(config: Config, topic: string): Promise<KafkaMessage[]> {
  const expected = await topicEnd(config, topic);
  const consumer = testKafka(config).consumer({ groupId: uniqueName('import-read') });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        messages.push(message);
        return Promise.resolve();
      },
    });
    await waitFor(() => Promise.resolve(messages.length >= expected ? true : undefined), 30_000, `${expected} records of ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

async function dropTopics(config: Config): Promise<void> {
  const admin = testKafka(config).admin();
  await admin.connect();
  try {
    const mine = new Set(Object.values(config.kafka.topics));
    const existing = (await admin.listTopics()).filter((topic) => mine.has(topic));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing });
  } finally {
    await admin.disconnect();
  }
}

const header = (message: KafkaMessage, name: string): string | undefined => message.headers?.[name]?.toString();

/**
 * `rows` valid rows over `keys` (store, SKU) pairs: each pair first receives 1,000, then rows
 * alternate receipts of 1 to 7 and (one in five) sales of 1, never more than was received.
 */
function stockFile(rows: number, keys: number): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i += 1) {
    const key = i % keys;
    const type = i >= keys && i % 5 === 0 ? 'sale' : 'incoming';
    const value = i < keys ? 1000 : type === 'sale' ? 1 : (i % 7) + 1;
    lines.push(`${randomUUID()},${type},2026-02-${String((i % 28) + 1).padStart(2, '0')},store-${key % 5},SKU-${key},${value}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('shopctl import', () => {
  let db: World;
  let kafka: World;
  let dir: string;
  // Worlds of the tests that need their own database and topics (dropped in afterAll).
  const extra: World[] = [];
  const ownWorld = async (): Promise<World> => {
    const each = await world();
    extra.push(each);
    return each;
  };
  const goodLevels = { 'berlin-1:SKU-100': 41, 'berlin-1:SKU-200': 0, 'paris-2:SKU-100': 25 };

  beforeAll(async () => {
    [db, kafka] = await Promise.all([world(), world()]);
    dir = await mkdtemp(path.join(tmpdir(), 'shopctl-import-files-'));
  });
  afterAll(async () => {
    for (const each of [db, kafka, ...extra]) {
      await each.mongo.drop();
      await dropTopics(each.config).catch(() => undefined);
      await rm(path.dirname(each.file), { recursive: true, force: true });
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('imports a good file --via db: stock levels right, exit 0', async () => {
    const result = await db.cli('import', path.join(fixtures, 'good.csv'), '--via', 'db', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(json<Summary>(result.stdout)).toMatchObject({
      file: 'good.csv',
      rows: { read: 7, accepted: 7, rejected: 0 },
      written: 7,
      duplicates: 0,
      refused: 0,
      errorsSent: 0,
      exitCode: 0,
    });
    expect(await stockLevels(db.mongo)).toEqual(goodLevels);
    // The transaction id is the event id; the date is its time.
    const journal = await db.mongo.db.collection<{ _id: string; time: string }>('events').findOne({ _id: '0b6f1c9e-0d1a-4a44-9f00-000000000005' });
    expect(journal?.time).toBe('2026-01-06T15:45:10.250Z');
  });

  it('imports the same file again with no second effect, and says they were duplicates', async () => {
    const again = await ownWorld();
    const good = path.join(fixtures, 'good.csv');
    const first = await again.cli('import', good, '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(json<Summary>(first.stdout)).toMatchObject({ rows: { read: 7, accepted: 7, rejected: 0 }, written: 7, duplicates: 0 });
    expect(await again.mongo.db.collection('events').countDocuments()).toBe(7);

    const result = await again.cli('import', good);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/already imported \(no effect\)\s*│\s*7 │/);
    expect(result.stdout).toMatch(/applied now\s*│\s*0 │/);
    expect(await stockLevels(again.mongo)).toEqual(goodLevels);
    expect(await again.mongo.db.collection('events').countDocuments()).toBe(7);
  });

  it('rejects a file full of bad rows: exit 3, every reason in the summary and each row in the errors topic', async () => {
    const own = await ownWorld();
    const bad = path.join(dir, 'bad.csv');
    const long = `0b6f1c9e-0d1a-4a44-9f00-000000000113,incoming,2026-02-01,berlin-1,SKU-300,${'9'.repeat(70_000)}`;
    await writeFile(bad, `${await readFile(path.join(fixtures, 'bad.csv'), 'utf8')}${long}\n`);
    const result = await own.cli('import', bad, '--json');
    expect(result.code, result.stderr).toBe(3);
    const summary = json<Summary>(result.stdout);
    expect(summary).toMatchObject({ rows: { read: 12, accepted: 1, rejected: 11 }, written: 1, errorsSent: 11, exitCode: 3 });
    expect(summary.rejectedByReason).toEqual({
      bad_transaction_id: 2,
      bad_event_type: 1,
      bad_date: 2,
      bad_store: 2,
      bad_item: 2,
      bad_value: 2,
      wrong_column_count: 1,
      duplicate_transaction_id_in_file: 1,
      bad_quotes: 1,
      line_too_long: 1,
    });

    const table = await own.cli('import', path.join(fixtures, 'bad.csv'), '--dry-run');
    expect(table.code).toBe(3);
    for (const code of Object.keys(summary.rejectedByReason).filter((code) => code !== 'line_too_long')) expect(table.stdout).toContain(code);

    const records = await readTopic(own.config, own.config.kafka.topics.importErrors);
    const rows = records.map((message) => ({
      value: json<{ file: string; line: number; raw: string; reasons: Array<{ code: string; message: string }> }>(String(message.value)),
      headers: message.headers,
      reason: header(message, 'x-dlq-reason'),
      time: header(message, 'x-dlq-time'),
      file: header(message, 'x-import-file'),
      line: header(message, 'x-import-line'),
    }));
    expect(rows.map((row) => row.value.line).sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    const source = (await readFile(bad, 'utf8')).split('\n');
    for (const row of rows) {
      expect(row).toMatchObject({ reason: 'invalid_row', file: 'bad.csv', line: String(row.value.line) });
      expect(Date.parse(row.time ?? '')).not.toBeNaN();
      expect(row.value.file).toBe('bad.csv');
      if (row.value.line !== 13) expect(row.value.raw).toBe(source[row.value.line - 1]);
      expect(row.value.reasons.length).toBeGreaterThan(0);
    }
    const several = rows.find((row) => row.value.line === 12)!;
    expect(several.value.reasons.map((reason) => reason.code)).toEqual(['bad_transaction_id', 'bad_date', 'bad_store', 'bad_item', 'bad_value']);
    expect(rows.find((row) => row.value.line === 10)!.value.reasons).toEqual([
      { code: 'duplicate_transaction_id_in_file', message: 'transaction_id: already used on line 2' },
    ]);

    // Only the valid row reached MongoDB; no operator became a key or an id.
    expect(await own.mongo.db.collection('stock').countDocuments({ _id: 'berlin-1:SKU-300' } as object)).toBe(1);
    expect(await own.mongo.db.collection('stock').countDocuments()).toBe(1);
    expect(await own.mongo.db.collection('stock').countDocuments({ _id: { $regex: '\\$' } } as object)).toBe(0);
  });

  it('counts a sale the projection refuses (no stock) as accepted but refused: exit 3, in the errors topic', async () => {
    const before = await topicEnd(db.config, db.config.kafka.topics.importErrors);
    const file = path.join(dir, 'refused.csv');
    const id = randomUUID();
    await writeFile(file, `${HEADER}\n${randomUUID()},incoming,2026-03-01,lyon,SKU-9,2\n${id},sale,2026-03-02,lyon,SKU-9,5\n`);
    const result = await db.cli('import', file, '--json');
    expect(result.code, result.stderr).toBe(3);
    expect(json<Summary>(result.stdout)).toMatchObject({
      rows: { read: 2, accepted: 2, rejected: 0 },
      written: 1,
      refused: 1,
      refusedByReason: { insufficient_stock: 1 },
      errorsSent: 1,
    });
    expect((await stockLevels(db.mongo))['lyon:SKU-9']).toBe(2);
    const records = await readTopic(db.config, db.config.kafka.topics.importErrors);
    expect(records).toHaveLength(before + 1);
    const refused = records.find((message) => header(message, 'x-import-file') === 'refused.csv')!;
    expect(header(refused, 'x-dlq-reason')).toBe('insufficient_stock');
    expect(json<{ line: number; reasons: Array<{ code: string; message: string }> }>(String(refused.value))).toMatchObject({
      line: 3,
      reasons: [{ code: 'insufficient_stock', message: "store 'lyon', SKU 'SKU-9': requested 5, available 2" }],
    });
  });

  it('writes nothing with --dry-run', async () => {
    const errors = await topicEnd(db.config, db.config.kafka.topics.importErrors);
    const journal = await db.mongo.db.collection('events').countDocuments();
    const file = path.join(dir, 'dry.csv');
    await writeFile(file, `${HEADER}\n${randomUUID()},incoming,2026-03-01,lyon,SKU-9,100\nx,sale,2026-03-01,lyon,SKU-9,1\n`);
    const result = await db.cli('import', file, '--dry-run');
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/dry run: nothing written/);
    expect(await db.mongo.db.collection('events').countDocuments()).toBe(journal);
    expect(await topicEnd(db.config, db.config.kafka.topics.importErrors)).toBe(errors);
  });

  it('stops a long import cleanly on SIGINT: what was read is reported, exit 130', async () => {
    const rows = Array.from({ length: 300_000 }, () => `${randomUUID()},incoming,2026-01-05,online,SKU-A,1`);
    const big = path.join(dir, 'big.csv');
    await writeFile(big, `${IMPORT_HEADER.join(',')}\n${rows.join('\n')}\n`);
    const child = spawnCli(['--config', db.file, 'import', big, '--dry-run', '--json']);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Once the file is open the signal handlers are in place (Linux: its descriptors in /proc).
    const reading = async () => {
      const fds = await readdir(`/proc/${child.pid}/fd`).catch(() => []);
      for (const fd of fds) if ((await readlink(`/proc/${child.pid}/fd/${fd}`).catch(() => '')) === big) return true;
      return undefined;
    };
    await waitFor(reading, 30_000, 'the import to open the file');
    child.kill('SIGINT');
    expect(await exit, err).toBe(130);
    const summary = JSON.parse(out) as ImportSummary;
    expect(summary.interrupted).toBe(true);
    expect(summary.rows.read).toBeGreaterThan(0);
    expect(summary.rows.read).toBeLessThan(300_000);
    expect(err).toMatch(/stopped after \d+ rows: run the same import again to finish/);
  });

  it('stops a real import on SIGINT mid-file (exit 130, a summary), and running it again equals one clean import', async () => {
    const [stopped, clean] = await Promise.all([ownWorld(), ownWorld()]);
    // Enough for ten chunks of 2,000 rows: the signal lands after the first one.
    const rows = 20_000;
    const file = path.join(dir, 'interrupted.csv');
    await writeFile(file, stockFile(rows, 50));
    const journal = (each: World) => each.mongo.db.collection('events').countDocuments();

    const child = spawnCli(['--config', stopped.file, 'import', file, '--via', 'db', '--json']);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Mid-write, provably: the first chunk is in MongoDB, and (below) not every row is.
    await waitFor(async () => ((await journal(stopped)) > 0 ? true : undefined), 60_000, 'the import to write its first chunk');
    child.kill('SIGINT');
    expect(await exit, err).toBe(130);
    const summary = json<Summary>(out);
    expect(summary).toMatchObject({ interrupted: true, refused: 0, duplicates: 0 });
    expect(summary.written).toBeGreaterThan(0);
    expect(summary.rows.read).toBeLessThan(rows);
    expect(err).toMatch(/stopped after \d+ rows: run the same import again to finish/);
    const applied = await journal(stopped);
    expect(applied).toBe(summary.written); // what it said it wrote, and no more
    expect(applied).toBeLessThan(rows);

    const rerun = await stopped.cli('import', file, '--via', 'db', '--json');
    expect(rerun.code, rerun.stderr).toBe(0);
    // Everything written before is recognised; the rest is written now; nothing twice.
    expect(json<Summary>(rerun.stdout)).toMatchObject({ rows: { read: rows, accepted: rows, rejected: 0 }, duplicates: applied, written: rows - applied, refused: 0 });

    const once = await clean.cli('import', file, '--via', 'db', '--json');
    expect(once.code, once.stderr).toBe(0);
    expect(json<Summary>(once.stdout)).toMatchObject({ written: rows, duplicates: 0 });
    expect(await stockLevels(stopped.mongo)).toEqual(await stockLevels(clean.mongo));
    expect(await journal(stopped)).toBe(await journal(clean));
    expect(await journal(clean)).toBe(rows);
  });

  it('imports the same file twice --via kafka: after consume, the state of one import', async () => {
    const twice = await ownWorld();
    const good = path.join(fixtures, 'good.csv');
    for (let run = 0; run < 2; run += 1) {
      const published = await twice.cli('import', good, '--via', 'kafka', '--json');
      expect(published.code, published.stderr).toBe(0);
      expect(json<Summary>(published.stdout)).toMatchObject({ rows: { read: 7, accepted: 7 }, written: 7 });
    }
    expect(await topicEnd(twice.config, twice.config.kafka.topics.inventory)).toBe(14); // Kafka holds both
    const consumed = await twice.cli('consume', '--until-idle', '2', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(await stockLevels(twice.mongo)).toEqual(goodLevels);
    expect(await twice.mongo.db.collection('events').countDocuments()).toBe(7);
    expect(await topicEnd(twice.config, twice.config.kafka.topics.dlq)).toBe(0); // no duplicate was refused either
  });

  it('refuses unusable files and bad arguments with exit 2 and a message naming the file', async () => {
    const header = await db.cli('import', path.join(fixtures, 'bad-header.csv'));
    expect(header.code).toBe(2);
    expect(header.stderr).toMatch(/bad-header\.csv: the header is not transaction_id,event_type,date,store_number,item_number,value \(wrong order/);
    expect(header.stderr).not.toMatch(/^\s+at /m);

    const missing = await db.cli('import', path.join(dir, 'nope.csv'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`File not found: ${path.join(dir, 'nope.csv')}`);

    const both = await db.cli('import', path.join(fixtures, 'good.csv'), '--watch', dir);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/either a FILE or --watch DIR/);
    expect((await db.cli('import')).code).toBe(2);

    // The errors topic needs Kafka, with --via db too; a dry run needs nothing.
    const noKafka = await db.cli('--brokers', '127.0.0.1:1', 'import', path.join(fixtures, 'good.csv'), '--via', 'db');
    expect(noKafka.code).toBe(4);
    expect(noKafka.stderr).toMatch(/Kafka is not reachable at 127\.0\.0\.1:1: it holds the import-errors topic/);
    const offline = await db.cli('--brokers', '127.0.0.1:1', '--mongodb-uri', 'mongodb://127.0.0.1:1', 'import', path.join(fixtures, 'good.csv'), '--dry-run');
    expect(offline.code, offline.stderr).toBe(0);

    const help = await db.cli('import', '--help');
    expect(help.stdout).toMatch(/Examples:/);
    expect(help.stdout).toContain(HEADER);
  });

  it('--via kafka, then consume, gives the same stock as --via db', async () => {
    const published = await kafka.cli('import', path.join(fixtures, 'good.csv'), '--via', 'kafka', '--json');
    expect(published.code, published.stderr).toBe(0);
    expect(json<Summary>(published.stdout)).toMatchObject({ rows: { read: 7, accepted: 7 }, written: 7 });
    const consumed = await kafka.cli('consume', '--until-idle', '2', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(await stockLevels(kafka.mongo)).toEqual(goodLevels);
  });

  it('--watch imports each dropped file once, moves it to processed/, stops on SIGTERM, and a restart imports nothing twice', async () => {
    const inbox = path.join(dir, 'inbox');
    await mkdir(inbox);
    const rows = (store: string, count: number) =>
      Array.from({ length: count }, (_, i) => `${randomUUID()},incoming,2026-04-0${(i % 9) + 1},${store},SKU-W,${i + 1}`).join('\n');
    const first = `${HEADER}\n${rows('watch-a', 10)}\n`;
    const levels = { 'watch-a:SKU-W': 55, 'watch-b:SKU-W': 15 };
    const journal = () => db.mongo.db.collection('events').countDocuments();
    const processed = async () => (await readdir(path.join(inbox, 'processed'))).sort();

    const watcher = startWatch(db.file, inbox);
    await writeFile(path.join(inbox, 'first.csv'), first);
    // The second is written elsewhere and renamed into place, the safe way to drop a file.
    await writeFile(path.join(inbox, '.second.tmp'), `${HEADER}\n${rows('watch-b', 5)}\n`);
    await rename(path.join(inbox, '.second.tmp'), path.join(inbox, 'second.csv'));
    await waitFor(async () => ((await processed().catch(() => [])).length === 2 ? true : undefined), 60_000, 'two files in processed/');
    const stock = await stockLevels(db.mongo);
    expect({ a: stock['watch-a:SKU-W'], b: stock['watch-b:SKU-W'] }).toEqual({ a: levels['watch-a:SKU-W'], b: levels['watch-b:SKU-W'] });
    expect(await processed()).toEqual(['first.csv', 'second.csv']);
    expect((await readdir(inbox)).filter((name) => name.endsWith('.csv'))).toEqual([]);
    // One watcher per directory.
    const second = await db.cli('import', '--watch', inbox);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/is already watched by process \d+/);
    expect(await watcher.stop()).toBe(0);
    expect(await readdir(inbox)).not.toContain('.shopctl-import.lock');
    expect(watcher.events().map((event) => [event.event, event.file])).toEqual([
      ['imported', 'first.csv'],
      ['imported', 'second.csv'],
    ]);

    const applied = await journal();
    // A lock left by a watcher that died (here: the pid of a process that has exited) is taken over.
    await writeFile(path.join(inbox, '.shopctl-import.lock'), `${spawnSync('true').pid}\n`);
    const again = startWatch(db.file, inbox);
    // The same rows under a new name, and an unusable file.
    await writeFile(path.join(inbox, 'first-again.csv'), first);
    await copyFile(path.join(fixtures, 'bad-header.csv'), path.join(inbox, 'broken.csv'));
    await waitFor(() => Promise.resolve(again.events().length >= 2 ? true : undefined), 60_000, 'the restarted watcher to take both files');
    expect(await again.stop()).toBe(0);
    const byFile = Object.fromEntries(again.events().map((event) => [event.file, event]));
    expect(byFile['first-again.csv']).toMatchObject({ event: 'imported', written: 0, duplicates: 10 });
    expect(byFile['broken.csv']).toMatchObject({ event: 'failed' });
    expect(again.events()).toHaveLength(2); // first.csv and second.csv were not read again
    expect(await journal()).toBe(applied);
    expect(await processed()).toEqual(['first-again.csv', 'first.csv', 'second.csv']);
    expect((await readdir(path.join(inbox, 'failed'))).sort()).toEqual(['broken.csv', 'broken.csv.error.txt']);
    const stockAfter = await stockLevels(db.mongo);
    expect(stockAfter['watch-a:SKU-W']).toBe(levels['watch-a:SKU-W']);
  });
});

interface WatchLine {
  event: string;
  file: string;
  written?: number;
  duplicates?: number;
}

function startWatch(configFile: string, inbox: string): { stop(): Promise<number | null>; events(): WatchLine[] } {
  const child: ChildProcessWithoutNullStreams = spawn(
    ...cliCommand(['--config', configFile, 'import', '--watch', inbox, '--json']),
    { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    events: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as WatchLine),
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exit;
      if (code !== 0) throw new Error(`watcher exited ${code}: ${stderr}`);
      return code;
    },
  };
}
