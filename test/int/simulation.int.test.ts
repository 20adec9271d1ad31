import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvent } from '../../src/domain/events.js';
import { runCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, type TestMongo } from '../helpers/env.js';
import { publishAll } from '../helpers/shop.js';

// Issue 15: `buy --random` behaves like shoppers in a shop (they buy what is there, and the run
// says when the store ran out), no option is silently ignored, and refusals are counted by reason.

const opened: TestMongo[] = [];
afterAll(async () => {
  for (const mongo of opened) await mongo.drop();
});

async function shop(options: { stock: number; products?: number; overrides?: Record<string, unknown> }) {
  const config = testConfig(options.overrides ?? {});
  const mongo = await connectTestMongo(config);
  opened.push(mongo);
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'shopctl-sim-')), 'shopctl.yaml');
  await writeFile(file, stringify(config));
  const cli = (...args: string[]) => runCli(['--config', file, ...args], {}, { timeoutMs: 120_000 });
  expect((await cli('make', 'customers', '--count', '6', '--seed', '1', '--via', 'db')).code).toBe(0);
  expect((await cli('make', 'products', '--count', String(options.products ?? 4), '--seed', '1', '--stock', String(options.stock), '--via', 'db')).code).toBe(0);
  const purchases = () => mongo.db.collection<{ sku: string; quantity: number }>('purchases').find({}).toArray();
  const levels = async () => (await mongo.db.collection<{ level: number }>('stock').find({}).toArray()).map((doc) => doc.level);
  return { config, mongo, cli, purchases, levels };
}

const json = <T>(text: string): T => JSON.parse(text) as T;

describe('buy: options are never silently ignored', () => {
  // Each pair cannot be meant together: a usage error (exit 2) naming both options.
  const conflicts: Array<[string[], string, string]> = [
    [['--customer', 'C', '--product', 'P', '--count', '5'], '--count', '--customer'],
    [['--random', '--customer', 'C'], '--random', '--customer'],
    [['--random', '--product', 'P'], '--random', '--product'],
    [['--customer', 'C', '--product', 'P', '--rate', '5'], '--rate', '--customer'],
    [['--customer', 'C', '--product', 'P', '--include-out-of-stock'], '--include-out-of-stock', '--customer'],
  ];
  it.each(conflicts)('buy %j: exit 2 naming both options', async (args, first, second) => {
    const result = await runCli(['buy', ...args]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(first);
    expect(result.stderr).toContain(second);
  });

  it('refuses numbers that cannot be meant, naming the option and its limits; --help shows them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--random', '--count', '99999999999999999999'], /--count must be a whole number from 1 to 10,000,000, got '99999999999999999999'/],
      [['--random', '--quantity', '0'], /--quantity must be a whole number or a range .* from 1 to 1,000,000, got '0'/],
      [['--random', '--quantity', '5-2'], /--quantity: the range '5-2' goes down/],
      [['--customer', 'C', '--product', 'P', '--quantity', '1-3'], /--quantity: a range \('1-3'\) is for --random purchases/],
      [['--customer', 'C'], /One purchase needs both --customer and --product \(only --customer was given\)/],
      [['--random', '--rate', '0'], /--rate must be a number from 0.01 to 1,000,000/],
    ];
    for (const [args, said] of cases) {
      const result = await runCli(['buy', ...args]);
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(said);
    }
    const help = await runCli(['buy', '--help']);
    expect(help.stdout).toMatch(/--count <n>\s+how many random purchases \(1-10,000,000/);
    expect(help.stdout).toMatch(/--quantity <n\|min-max>[\s\S]*1-1,000,000/);
    expect(help.stdout).toContain('--include-out-of-stock');
  });
});

describe('buy --random: shoppers buy what the store has', () => {
  it('by default: never more than the stock, stops early when it runs out and says so; the same seeded run again changes nothing', async () => {
    const { cli, purchases, levels } = await shop({ stock: 20 }); // 4 products x 20 units
    const run = await cli('buy', '--random', '--count', '1000', '--seed', '3', '--via', 'db', '--json');
    expect(run.code, run.stderr).toBe(0);
    const summary = json<{ count: number; made: number; requested: number; ranOut: boolean; stockAware: boolean; refused: { total: number } }>(run.stdout);
    expect(summary).toMatchObject({ requested: 1000, ranOut: true, stockAware: true, refused: { total: 0 }, rejected: [] });
    expect(summary.count).toBe(summary.made);
    expect(summary.made).toBeLessThan(1000);
    expect(run.stderr).toMatch(new RegExp(`stock ran out at store 'online' after ${summary.made} of 1,000 purchases`));
    const bought = await purchases();
    expect(bought).toHaveLength(summary.made);
    expect(bought.reduce((sum, p) => sum + p.quantity, 0)).toBe(80);
    expect(await levels()).toEqual([0, 0, 0, 0]);

    const again = await cli('buy', '--random', '--count', '1000', '--seed', '3', '--via', 'db', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(json<object>(again.stdout)).toMatchObject({ count: 0, duplicates: summary.made, made: summary.made, ranOut: true });

    // Nothing left: a clear usage error, not a run of nothing.
    const empty = await cli('buy', '--random', '--count', '10', '--via', 'db');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/Nothing to buy at store 'online': none of the 4 products has any stock there/);
    expect(empty.stderr).toContain('--include-out-of-stock');
  });

  it('the same seeded run, after goods were received and others bought, is the same purchases: nothing new, nothing refused', async () => {
    const { cli, mongo, purchases } = await shop({ stock: 20 });
    const first = await cli('buy', '--random', '--count', '30', '--seed', '5', '--via', 'db', '--json');
    expect(first.code, first.stderr).toBe(0);
    const made = json<{ count: number }>(first.stdout).count;
    expect(made).toBeGreaterThan(0);
    // Others change the store's stock in between: goods received, and another shopper.
    const sku = (await mongo.db.collection<{ sku: string }>('stock').findOne({}))!.sku;
    expect((await cli('stock', 'receive', '--sku', sku, '--quantity', '50')).code).toBe(0);
    expect((await cli('buy', '--random', '--count', '5', '--seed', '6', '--via', 'db')).code).toBe(0);
    const before = await purchases();
    // The first run's start was recorded: running it again draws the same purchases, so the
    // applied ones are duplicates (were its start re-read, the same ids would carry other content,
    // or the run would buy a second time).
    const again = await cli('buy', '--random', '--count', '30', '--seed', '5', '--via', 'db', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(json<object>(again.stdout)).toMatchObject({ count: 0, duplicates: made, conflicts: [], refused: { total: 0 } });
    expect(await purchases()).toEqual(before);
  });

  it('--include-out-of-stock picks from every product: the store refuses, and the summary counts refusals by reason', async () => {
    const { cli, levels } = await shop({ stock: 20 });
    const text = await cli('buy', '--random', '--count', '300', '--include-out-of-stock', '--via', 'db');
    expect(text.code, text.stderr).toBe(3);
    const refused = /refused (\d+): insufficient_stock (\d+)\n/.exec(text.stdout);
    expect(refused, text.stdout).not.toBeNull();
    expect(refused![1]).toBe(refused![2]);
    expect(Number(refused![1])).toBeGreaterThan(200); // 80 units for 300 purchases of 1-10
    expect((await levels()).every((level) => level >= 0)).toBe(true);

    const more = await cli('buy', '--random', '--count', '30', '--include-out-of-stock', '--via', 'db', '--json');
    expect(more.code).toBe(3);
    const summary = json<{ rejected: unknown[]; refused: { total: number; byReason: Record<string, number> }; stockAware: boolean }>(more.stdout);
    expect(summary.stockAware).toBe(false);
    expect(summary.refused.total).toBe(summary.rejected.length);
    expect(summary.refused.byReason).toEqual({ insufficient_stock: summary.rejected.length });
    expect(summary.refused.total).toBeGreaterThan(20);
  });

  it('--quantity: a fixed quantity or a range for random purchases', async () => {
    const { cli, purchases, mongo } = await shop({ stock: 1000 });
    expect((await cli('buy', '--random', '--count', '40', '--quantity', '3', '--via', 'db')).code).toBe(0);
    expect((await purchases()).map((p) => p.quantity)).toEqual(Array(40).fill(3));
    await mongo.db.collection('purchases').deleteMany({});
    const ranged = await cli('buy', '--random', '--count', '60', '--quantity', '4-6', '--seed', '2', '--include-out-of-stock', '--via', 'db');
    expect(ranged.code, ranged.stderr).toBe(0);
    const quantities = new Set((await purchases()).map((p) => p.quantity));
    expect([...quantities].sort()).toEqual([4, 5, 6]);
  });

  it('a fixed quantity stops when no product has that many left', async () => {
    const { cli, purchases, levels } = await shop({ stock: 10, products: 3 });
    const run = await cli('buy', '--random', '--count', '100', '--quantity', '4', '--via', 'db', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(json<object>(run.stdout)).toMatchObject({ made: 6, ranOut: true }); // two of 4 from each 10
    expect((await purchases()).every((p) => p.quantity === 4)).toBe(true);
    expect(await levels()).toEqual([2, 2, 2]);
    expect(run.stderr).toMatch(/stock ran out at store 'online' after 6 of 100 purchases: no product there has 4 units left/);
  });
});

describe('consume: refusals by reason', () => {
  it('a stock-aware run through Kafka is projected without a refusal; --include-out-of-stock ones are counted by reason', async () => {
    const { cli, purchases, config } = await shop({ stock: 15, overrides: { consume: { maxRetries: 1, retryBackoffMs: 100 } } });
    const bought = await cli('buy', '--random', '--count', '400', '--seed', '8', '--via', 'kafka', '--json');
    expect(bought.code, bought.stderr).toBe(0);
    const made = json<{ made: number; ranOut: boolean }>(bought.stdout);
    expect(made.ranOut).toBe(true);
    const first = await cli('consume', '--until-idle', '3', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(json<object>(first.stdout)).toMatchObject({ applied: made.made, deadLettered: 0, refused: { total: 0, byReason: {} } });
    expect((await purchases()).reduce((sum, p) => sum + p.quantity, 0)).toBe(60);

    const refusing = await cli('buy', '--random', '--count', '25', '--include-out-of-stock', '--via', 'kafka');
    expect(refusing.code, refusing.stderr).toBe(0);
    const ghost = createEvent(
      'shop.purchase.made.v1',
      { customerId: 'nobody', sku: 'SKU-GHOST', store: 'online', quantity: 1, unitPrice: { amount: 100, currency: 'EUR' } },
      { id: '00000000-0000-4000-8000-000000000015', time: new Date().toISOString(), source: 'test' },
    );
    await publishAll(config, [ghost]);
    const second = await cli('consume', '--until-idle', '3');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/refused 26: insufficient_stock 25, unknown_reference 1/);
  });
});
