import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { connectTestMongo, testConfig, type TestMongo } from '../helpers/env.js';

// Issue 13, finding 1: one seed used by two commands must make two sets of data. Before event
// ids were derived from the command kind and its options, customers and products of one seed
// shared an id stream, and the second command was taken for a re-run of the first.

const opened: TestMongo[] = [];
afterAll(async () => {
  for (const mongo of opened) await mongo.drop();
});

/** A database and topics of its own, and the CLI pointed at them through a config file. */
async function shop(): Promise<{ config: Config; mongo: TestMongo; cli: (...args: string[]) => Promise<CliResult> }> {
  const config = testConfig();
  const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-ids-'));
  const file = path.join(dir, 'shopctl.yaml');
  await writeFile(file, stringify(config));
  const mongo = await connectTestMongo(config);
  opened.push(mongo);
  return { config, mongo, cli: (...args) => runCli(['--config', file, ...args], {}, { timeoutMs: 60_000 }) };
}

const expectOk = (result: CliResult): void => expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);

async function counts(mongo: TestMongo): Promise<{ customers: number; products: number; stock: number }> {
  const [customers, products, stock] = await Promise.all(
    ['customers', 'products', 'stock'].map((name) => mongo.db.collection(name).countDocuments()),
  );
  return { customers: customers ?? 0, products: products ?? 0, stock: stock ?? 0 };
}

describe('one seed, several commands', () => {
  it('make customers then make products with --seed 1 --via db: 5 customers and 5 products, each stocked', async () => {
    const { mongo, cli } = await shop();
    expectOk(await cli('make', 'customers', '--count', '5', '--seed', '1', '--via', 'db'));
    const products = await cli('make', 'products', '--count', '5', '--seed', '1', '--via', 'db', '--json');
    expectOk(products);
    expect(JSON.parse(products.stdout)).toMatchObject({ what: 'products', count: 5, duplicates: 0, events: { written: 10, duplicates: 0 } });
    expect(await counts(mongo)).toEqual({ customers: 5, products: 5, stock: 5 });

    // The same commands again are re-runs: nothing new, nothing lost.
    const again = await cli('make', 'products', '--count', '5', '--seed', '1', '--via', 'db', '--json');
    expectOk(again);
    expect(JSON.parse(again.stdout)).toMatchObject({ count: 0, duplicates: 5, events: { written: 0, duplicates: 10 } });
    expect(await counts(mongo)).toEqual({ customers: 5, products: 5, stock: 5 });
  });

  it('make customers then make products with --seed 1 --via kafka, consumed: 5 customers and 5 products', async () => {
    const { mongo, cli } = await shop();
    expectOk(await cli('make', 'customers', '--count', '5', '--seed', '1', '--via', 'kafka'));
    expectOk(await cli('make', 'products', '--count', '5', '--seed', '1', '--via', 'kafka'));
    const consumed = await cli('consume', '--until-idle', '2', '--json');
    expectOk(consumed);
    expect(JSON.parse(consumed.stdout)).toMatchObject({ duplicates: 0 });
    expect(await counts(mongo)).toEqual({ customers: 5, products: 5, stock: 5 });
  });

  it('--locale de then --locale ja with one seed: two sets of customers', async () => {
    const { mongo, cli } = await shop();
    expectOk(await cli('make', 'customers', '--count', '5', '--seed', '3', '--locale', 'de', '--via', 'db'));
    const japanese = await cli('make', 'customers', '--count', '5', '--seed', '3', '--locale', 'ja', '--via', 'db', '--json');
    expectOk(japanese);
    expect(JSON.parse(japanese.stdout)).toMatchObject({ count: 5, duplicates: 0 });
    expect((await counts(mongo)).customers).toBe(10);
  });

  it('--seed 4294967297 is refused as a usage error naming --seed and the range (it would repeat seed 1)', async () => {
    const { mongo, cli } = await shop();
    const result = await cli('make', 'customers', '--count', '5', '--seed', '4294967297', '--via', 'db');
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain("--seed must be a whole number from 0 to 4294967295 (Faker seeds have 32 bits), got '4294967297'");
    expect((await counts(mongo)).customers).toBe(0);
  });
});
