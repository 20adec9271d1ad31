import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { IMPORT_HEADER } from '../../src/domain/csv.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { connectTestMongo, testConfig, testKafka } from '../helpers/env.js';

// What a user is told when a value cannot be meant, a setting is wrong, or there is nothing to
// show; and the ids, limits and namespaces those messages are about. The real CLI; the running
// stack where a service is involved. Every world has its own database, topics and group.

interface World {
  config: Config;
  dir: string;
  file: string;
  cli: (...args: string[]) => Promise<CliResult>;
  /** Extra databases (namespaces) to drop afterwards. */
  dbs: string[];
}

const json = <T>(text: string): T => JSON.parse(text) as T;
const worlds: World[] = [];

async function world(overrides: Record<string, unknown> = {}): Promise<World> {
  const config = testConfig(overrides);
  const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-usage-'));
  const file = path.join(dir, 'shopctl.yaml');
  await writeFile(file, stringify(config));
  const made: World = {
    config,
    dir,
    file,
    dbs: [config.mongodb.db],
    cli: (...args) => runCli(['--config', file, ...args], {}, { timeoutMs: 90_000 }),
  };
  worlds.push(made);
  return made;
}

afterAll(async () => {
  for (const each of worlds) {
    const mongo = await connectTestMongo(each.config);
    for (const db of each.dbs) await mongo.client.db(db).dropDatabase().catch(() => undefined);
    await mongo.client.close();
    const admin = testKafka(each.config).admin();
    await admin.connect();
    try {
      const prefix = Object.values(each.config.kafka.topics)[0]!.split('.')[0]!;
      const mine = (await admin.listTopics()).filter((topic) => topic.includes(`${prefix}.`));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    } catch {
      // Best effort: the topics have unique names and harm nothing if left.
    } finally {
      await admin.disconnect();
    }
    await rm(each.dir, { recursive: true, force: true });
  }
});

describe('usage errors name the option and its limits (exit 2, nothing written)', () => {
  it('alerts --interval without --follow names both options', async () => {
    const { cli } = await world();
    const result = await cli('alerts', '--interval', '5');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--interval only applies with --follow');
    expect(result.stdout).toBe('');
  });

  it('refuses counts and quantities that cannot be meant, naming the option, not an event field', async () => {
    const { cli, config } = await world();
    const cases: Array<[string[], string]> = [
      [['make', 'customers', '--count', '99999999999999999999'], "--count must be a whole number from 1 to 10,000,000, got '99999999999999999999'."],
      [['make', 'customers', '--count', '0'], '--count must be a whole number from 1 to 10,000,000'],
      [['make', 'products', '--stock', '2000000000'], "--stock must be a whole number from 0 to 1,000,000,000, got '2000000000'."],
      [['stock', 'receive', '--sku', 'A', '--quantity', '2000000000'], '--quantity must be a whole number from 1 to 1,000,000,000'],
      [['stock', 'count', '--sku', 'A', '--level', '-1'], '--level must be a whole number from 0 to 1,000,000,000'],
      [['consume', '--until-idle', '1e9'], '--until-idle must be a number from 0.1 to 86,400'],
      [['list', 'customers', '--limit', '2000000'], '--limit must be a whole number from 1 to 1,000,000'],
      [['report', 'sales', '--top', '1.5'], '--top must be a whole number from 1 to 1,000,000'],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stderr).not.toMatch(/quantity: /);
    }
    const mongo = await connectTestMongo(config);
    expect(await mongo.db.listCollections().toArray()).toEqual([]);
    await mongo.client.close();
  });

  it('shows the range of every numeric option in --help', async () => {
    const { cli } = await world();
    const expected: Array<[string[], RegExp[]]> = [
      [['make', 'customers'], [/--count <n>\s+how many \(1-10,000,000; default: generate\.customers\)/, /--seed <n>[\s\S]*\(0-4,294,967,295\)/]],
      [['make', 'products'], [/--count <n>\s+how many \(1-10,000,000;/, /--stock <n>[\s\S]*\(0-1,000,000,000;/]],
      [['stock', 'receive'], [/--quantity <n>\s+units received \(1-1,000,000,000\)/]],
      [['stock', 'sell'], [/--quantity <n>\s+units sold \(1-1,000,000,000\)/]],
      [['stock', 'count'], [/--level <n>\s+units counted on the shelf \(0-1,000,000,000\)/]],
      [['alerts'], [/--interval <seconds>[\s\S]*\(0\.1-86,400; default: 2\)/]],
      [['consume'], [/--until-idle <seconds>[\s\S]*\(0\.1-86,400\)/, /--max-events <n>[\s\S]*\(1-1,000,000,000\)/]],
      [['list', 'stock'], [/--limit <n>\s+at most this many rows \(1-1,000,000\)/]],
      [['list', 'customers'], [/--limit <n>\s+at most this many rows \(1-1,000,000\)/]],
      [['report', 'sales'], [/--top <n>\s+how many products \(1-1,000,000\)/]],
      [['errors', 'list'], [/--limit <n>[\s\S]*\(1-1,000,000\)/]],
    ];
    for (const [command, patterns] of expected) {
      const help = await cli(...command, '--help');
      expect(help.code).toBe(0);
      for (const pattern of patterns) expect(help.stdout, command.join(' ')).toMatch(pattern);
    }
  });
});

describe('configuration that never surprises', () => {
  it('an unknown key names the file and the key path', async () => {
    const own = await world();
    const bad = path.join(own.dir, 'bad.yaml');
    await writeFile(bad, 'kafak:\n  brokers: ["127.0.0.1:19092"]\n');
    const result = await runCli(['--config', bad, 'config', 'show']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Invalid configuration in ${bad}`);
    expect(result.stderr).toContain(`kafak (from file ${bad}): unknown key`);
  });

  it('an empty --config file is used, with defaults, and said so on stderr', async () => {
    const own = await world();
    const empty = path.join(own.dir, 'empty.yaml');
    await writeFile(empty, '');
    const result = await runCli(['--config', empty, 'config', 'show', '--json'], { SHOPCTL_MONGODB_DB: undefined, SHOPCTL_KAFKA_BROKERS: undefined });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`config: ${empty} is empty; using defaults`);
    expect(json<{ file: string; config: { mongodb: { db: string } } }>(result.stdout)).toMatchObject({ file: empty, config: { mongodb: { db: 'shop' } } });
  });

  it('a replication factor above the brokers there are names the topic and the broker count (exit 2), with or without SHOPCTL_DEBUG', async () => {
    const own = await world({ kafka: { replicationFactor: 5 } });
    const admin = testKafka(own.config).admin();
    await admin.connect();
    const brokers = (await admin.describeCluster()).brokers.length;
    await admin.disconnect();
    expect(brokers, 'this test needs a cluster of fewer than 5 brokers').toBeLessThan(5);
    const plural = brokers === 1 ? 'broker' : 'brokers';
    for (const args of [['topics', 'create'], ['make', 'customers', '--count', '2', '--via', 'kafka'], ['consume', '--until-idle', '1']]) {
      const result = await own.cli(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`Cannot create topic ${own.config.kafka.topics.alerts.replaceAll('.', '\\.')} .*: replication factor 5 > ${brokers} ${plural} available`));
      expect(result.stderr).toContain(`Set kafka.replicationFactor to ${brokers} or less`);
      expect(result.stderr).not.toContain('Unexpected failure');
    }
    const debug = await runCli(['--config', own.file, 'topics', 'create'], { SHOPCTL_DEBUG: '1' });
    expect(debug.code).toBe(2);
    expect(debug.stderr).toContain('INVALID_REPLICATION_FACTOR');
  });
});

describe('messages that say what is missing', () => {
  it('report sales --since names the time; list stock --sku names the SKU; stock for an unknown SKU is kept, with a warning and a marker', async () => {
    const { cli } = await world();
    expect((await cli('make', 'products', '--count', '2', '--seed', '5', '--stock', '0', '--via', 'db')).code).toBe(0);
    const since = await cli('report', 'sales', '--since', '2099-01-01');
    expect(since.code).toBe(0);
    expect(since.stdout.trim()).toBe('no sales since 2099-01-01');
    const duration = await cli('report', 'sales', '--since', '15m');
    expect(duration.stdout.trim()).toBe('no sales in the last 15m');

    const nope = await cli('list', 'stock', '--sku', 'NOPE');
    expect(nope.code).toBe(0);
    expect(nope.stdout.trim()).toBe('no SKU NOPE');
    const [product] = json<Array<{ sku: string }>>((await cli('list', 'stock', '--json')).stdout);
    const elsewhere = await cli('list', 'stock', '--sku', product!.sku, '--store', 'nowhere');
    expect(elsewhere.stdout.trim()).toBe(`no stock for SKU ${product!.sku} at store nowhere`);

    // Accepted (the stock manager creates items on first receipt), with a warning.
    const received = await cli('stock', 'receive', '--sku', 'SKU-NOPE', '--quantity', '4', '--via', 'db');
    expect(received.code, received.stderr).toBe(0);
    expect(received.stderr).toContain('SKU-NOPE is not in the catalogue');
    const known = await cli('stock', 'receive', '--sku', product!.sku, '--quantity', '4', '--via', 'db');
    expect(known.stderr).not.toContain('not in the catalogue');

    const rows = json<Array<{ sku: string; level: number; inCatalogue: boolean }>>((await cli('list', 'stock', '--json')).stdout);
    expect(rows.find((row) => row.sku === 'SKU-NOPE')).toMatchObject({ level: 4, inCatalogue: false });
    expect(rows.find((row) => row.sku === product!.sku)).toMatchObject({ level: 4, inCatalogue: true });
    const table = await cli('list', 'stock');
    expect(table.stdout).toMatch(/SKU-NOPE \(not in catalogue\)/);
    expect(table.stdout).not.toContain(`${product!.sku} (not in catalogue)`);
    // Now it has stock, "no SKU" would be wrong: there is stock, not at that store.
    expect((await cli('list', 'stock', '--sku', 'SKU-NOPE', '--store', 'nowhere')).stdout.trim()).toBe('no stock for SKU SKU-NOPE at store nowhere');
  });
});

describe('CSV import: ids as the stock manager writes them, files with nothing or the wrong encoding', () => {
  const header = IMPORT_HEADER.join(',');
  const uuid = (n: number) => `7a1e0c52-3b7d-4f0e-9c11-${String(n).padStart(12, '0')}`;

  it('imports Store 12 / SKU.1 / münchen end to end, through MongoDB and through Kafka + consume', async () => {
    const own = await world();
    const csv = path.join(own.dir, 'ids.csv');
    await writeFile(
      csv,
      [
        header,
        `${uuid(1)},incoming,2026-01-05,Store 12,SKU.1,10`,
        `${uuid(2)},incoming,2026-01-05,münchen,Größe 42 (blau),5`,
        `${uuid(3)},sale,2026-01-06,Store 12,SKU.1,3`,
        `${uuid(4)},incoming,2026-01-06,a:b,SKU.1,1`,
      ].join('\n'),
    );
    const viaDb = await own.cli('import', csv, '--json');
    expect(viaDb.code, viaDb.stderr).toBe(3); // the a:b row is rejected, naming the rule
    expect(json<{ rows: unknown; rejectedByReason: unknown }>(viaDb.stdout)).toMatchObject({ rows: { read: 4, accepted: 3, rejected: 1 }, rejectedByReason: { bad_store: 1 } });
    const levels = json<Array<{ store: string; sku: string; level: number }>>((await own.cli('list', 'stock', '--json')).stdout);
    expect(levels.map((row) => [row.store, row.sku, row.level])).toEqual([
      ['Store 12', 'SKU.1', 7],
      ['münchen', 'Größe 42 (blau)', 5],
    ]);
    const table = await own.cli('import', csv, '--dry-run');
    expect(table.stdout).toContain("store_number: not a valid id, contains ':' or '/'");

    // The same ids through Kafka: the consumer's event schemas accept them too.
    const kafka = await world();
    const viaKafka = await kafka.cli('import', csv, '--via', 'kafka', '--json');
    expect(viaKafka.code, viaKafka.stderr).toBe(3);
    const consumed = await kafka.cli('consume', '--until-idle', '3', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    const projected = json<Array<{ store: string; sku: string; level: number }>>((await kafka.cli('list', 'stock', '--json')).stdout);
    expect(projected.map((row) => [row.store, row.sku, row.level])).toEqual([
      ['Store 12', 'SKU.1', 7],
      ['münchen', 'Größe 42 (blau)', 5],
    ]);
    // The CLI takes the same ids.
    const cliStock = await kafka.cli('stock', 'receive', '--store', 'Store 12', '--sku', 'SKU.1', '--quantity', '1', '--via', 'db');
    expect(cliStock.code, cliStock.stderr).toBe(0);
    const refused = await kafka.cli('stock', 'receive', '--store', 'a/b', '--sku', 'SKU.1', '--quantity', '1', '--via', 'db');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--store: 'a/b' is not a valid store id: contains ':' or '/'");
  });

  it('a header-only file says "no rows" and exits 3; a UTF-16 file is named as such (exit 2)', async () => {
    const own = await world();
    const empty = path.join(own.dir, 'header-only.csv');
    await writeFile(empty, `${header}\n`);
    const dry = await own.cli('import', empty, '--dry-run');
    expect(dry.code).toBe(3);
    expect(dry.stderr).toContain(`no rows: ${empty} has the header and nothing else`);
    expect(dry.stdout).not.toContain('all rows valid');
    const real = await own.cli('import', empty, '--json');
    expect(real.code, real.stderr).toBe(3);
    expect(json<{ exitCode: number; rows: { read: number } }>(real.stdout)).toMatchObject({ exitCode: 3, rows: { read: 0 } });

    const utf16 = path.join(own.dir, 'excel.csv');
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${header}\r\n${uuid(9)},incoming,2026-01-05,s,k,1\r\n`, 'utf16le')]));
    const result = await own.cli('import', utf16, '--dry-run');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${utf16} is UTF-16 LE, not UTF-8; save it as UTF-8`);
  });
});

describe('--namespace: a private sandbox in one setting', () => {
  it('two namespaces write and read independently, and neither touches the names without one', async () => {
    const own = await world();
    const ns = (name: string) => ({ db: `${own.config.mongodb.db}_${name}` });
    own.dbs.push(ns('a').db, ns('b').db);

    const shown = json<{ config: Config; sources: Record<string, string> }>((await own.cli('--namespace', 'a', 'config', 'show', '--json')).stdout);
    expect(shown.config.namespace).toBe('a');
    expect(shown.config.kafka.topics.customers).toBe(`a.${own.config.kafka.topics.customers}`);
    expect(shown.config.kafka.groupId).toBe(`a.${own.config.kafka.groupId}`);
    expect(shown.config.mongodb.db).toBe(ns('a').db);

    const made = await own.cli('--namespace', 'a', 'make', 'customers', '--count', '3', '--seed', '1', '--via', 'kafka');
    expect(made.code, made.stderr).toBe(0);
    const madeB = await runCli(['--config', own.file, 'make', 'customers', '--count', '5', '--seed', '2', '--via', 'kafka'], { SHOPCTL_NAMESPACE: 'b' }, { timeoutMs: 90_000 });
    expect(madeB.code, madeB.stderr).toBe(0);
    for (const name of ['a', 'b']) {
      const consumed = await own.cli('--namespace', name, 'consume', '--until-idle', '3', '--json');
      expect(consumed.code, consumed.stderr).toBe(0);
    }
    const listed = async (...args: string[]) => json<Array<{ id: string }>>((await own.cli(...args, 'list', 'customers', '--json')).stdout);
    const a = await listed('--namespace', 'a');
    const b = await listed('--namespace', 'b');
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(5);
    expect(a.filter((customer) => b.some((other) => other.id === customer.id))).toEqual([]);
    expect(await listed()).toEqual([]);

    const admin = testKafka(own.config).admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      expect(topics).toContain(`a.${own.config.kafka.topics.customers}`);
      expect(topics).toContain(`b.${own.config.kafka.topics.customers}`);
      expect(topics).not.toContain(own.config.kafka.topics.customers);
      const groups = (await admin.listGroups()).groups.map((group) => group.groupId);
      expect(groups).toEqual(expect.arrayContaining([`a.${own.config.kafka.groupId}`, `b.${own.config.kafka.groupId}`]));
    } finally {
      await admin.disconnect();
    }

    const bad = await own.cli('--namespace', 'no.dots', 'list', 'customers');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("namespace (from flag): 'no.dots' is not a namespace: expected 1-40 lower-case letters, digits, '-' or '_'");
  });
});
