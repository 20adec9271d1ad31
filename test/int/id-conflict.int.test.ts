import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { runCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, type TestMongo } from '../helpers/env.js';

// Issue 13, finding 1, last sentence: an id applied before that comes again with other content
// (here a CSV row reusing a transaction_id) is not applied, and the command says so: a warning
// with the count and a hint, and exit 3, in the table and with --json.

const header = 'transaction_id,event_type,date,store_number,item_number,value';
const id = '7d3c1e2a-5b6f-4a8e-9c0d-1e2f3a4b5c6d';

describe('an event id reused with other content', () => {
  let config: Config;
  let dir: string;
  let mongo: TestMongo;
  const cli = (...args: string[]) => runCli(['--config', path.join(dir, 'shopctl.yaml'), ...args], {}, { timeoutMs: 60_000 });
  const csv = async (name: string, rows: string[]): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, `${[header, ...rows].join('\n')}\n`);
    return file;
  };

  beforeAll(async () => {
    config = testConfig();
    dir = await mkdtemp(path.join(tmpdir(), 'shopctl-conflict-'));
    await writeFile(path.join(dir, 'shopctl.yaml'), stringify(config));
    mongo = await connectTestMongo(config);
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('import --via db: the row is not applied, a warning counts it, exit 3 (table and --json)', async () => {
    const first = await cli('import', await csv('first.csv', [`${id},incoming,2026-01-05,berlin-1,SKU-1,5`]), '--via', 'db');
    expect(first.code, first.stderr).toBe(0);

    const changed = await csv('changed.csv', [`${id},incoming,2026-01-05,berlin-1,SKU-1,7`]);
    const table = await cli('import', changed, '--via', 'db');
    expect(table.code, `${table.stdout}\n${table.stderr}`).toBe(3);
    expect(table.stderr).toContain('1 event reuses an id already applied with different content; it was not applied');
    expect(table.stderr).toContain('transaction_id');

    const json = await cli('import', changed, '--via', 'db', '--json');
    expect(json.code, json.stderr).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ conflicts: 1, written: 0, exitCode: 3 });
    expect(json.stderr).toContain('1 event reuses an id already applied with different content');

    // The level is the first row's: the changed row had no effect.
    const stock = await mongo.db.collection<{ level: number }>('stock').find({}).toArray();
    expect(stock.map((doc) => doc.level)).toEqual([5]);

    // The same content again is a plain duplicate: no warning, exit 0.
    const again = await cli('import', path.join(dir, 'first.csv'), '--via', 'db');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('reuses an id');
  });
});
