import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { ensureIndexes } from '../../src/db/collections.js';
import { projectionOn } from '../../src/services/projection.js';
import { projectionSettings } from '../../src/services/projection-settings.js';
import { dbSink } from '../../src/services/sinks.js';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, testKafka, topicEnd, waitFor, type TestMongo } from '../helpers/env.js';
import { projectUntilIdle, publishAll } from '../helpers/shop.js';

let n = 0;
const at = () => ({ id: `inv-${Date.now()}-${++n}`, time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), source: 'test' });
const received = (store: string, sku: string, quantity: number) => createEvent('shop.stock.received.v1', { store, sku, quantity }, at());
const sold = (store: string, sku: string, quantity: number) => createEvent('shop.stock.sold.v1', { store, sku, quantity }, at());

async function levelOf(mongo: TestMongo, store: string, sku: string): Promise<number | undefined> {
  const doc = await mongo.db.collection<{ _id: string; level: number }>('stock').findOne({ _id: `${store}:${sku}` });
  return doc?.level;
}

interface World {
  config: Config;
  mongo: TestMongo;
  file: string;
  cli: (...args: string[]) => ReturnType<typeof runCli>;
}

// Every test has a world of its own (database, topics, consumer group, config file) and makes in
// it the stock it needs: no test relies on another having run before it.
describe('inventory', () => {
  const worlds: World[] = [];

  async function world(): Promise<World> {
    const config = testConfig({ consume: { maxRetries: 4, retryBackoffMs: 300 } });
    const mongo = await connectTestMongo(config);
    await ensureIndexes(mongo.db);
    const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-inv-'));
    const file = path.join(dir, 'shopctl.yaml');
    await writeFile(file, stringify(config));
    const made: World = { config, mongo, file, cli: (...args) => runCli(['--config', file, ...args], {}, { timeoutMs: 60_000 }) };
    worlds.push(made);
    return made;
  }

  afterAll(async () => {
    for (const each of worlds) {
      await each.mongo.drop();
      await rm(path.dirname(each.file), { recursive: true, force: true });
    }
  });

  it('via kafka: a sale that arrives before its goods is retried and applied once they arrive', async () => {
    const { config, mongo } = await world();
    await publishAll(config, [sold('berlin', 'SKU-EARLY', 3)]);
    const consumer = projectUntilIdle(config, mongo, { idleMs: 3000 });
    // The goods arrive once the sale was refused and waits in the retry topic.
    await waitFor(async () => ((await topicEnd(config, config.kafka.topics.retry)) > 0 ? true : undefined), 30_000, 'the sale in the retry topic');
    expect(await levelOf(mongo, 'berlin', 'SKU-EARLY')).toBeUndefined();
    await publishAll(config, [received('berlin', 'SKU-EARLY', 5)]);
    const totals = await consumer;
    expect(totals.retried).toBeGreaterThanOrEqual(1);
    expect(totals.deadLettered).toBe(0);
    expect(await levelOf(mongo, 'berlin', 'SKU-EARLY')).toBe(2);
  });

  it('via kafka: a sale that never gets its goods is dead-lettered as insufficient_stock after the retries', async () => {
    const { config, mongo, cli } = await world();
    await publishAll(config, [received('paris', 'SKU-SHORT', 1), sold('paris', 'SKU-SHORT', 4)]);
    const totals = await projectUntilIdle(config, mongo, { idleMs: 2000 });
    expect(totals.retried).toBe(4);
    expect(totals.deadLettered).toBe(1);
    expect(await levelOf(mongo, 'paris', 'SKU-SHORT')).toBe(1);
    const listed = await cli('errors', 'list', '--reason', 'insufficient_stock', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/requested 4, available 1/);
  });

  it('never goes negative under concurrent sales and purchases of one SKU from several writers', async () => {
    const { config, mongo } = await world();
    const buyer = createEvent(
      'shop.customer.registered.v1',
      { customerId: 'hot-buyer', firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: { street: '1 Main St', city: 'London', postalCode: 'N1', country: 'UK' }, locale: 'en' },
      at(),
    );
    const item = createEvent('shop.product.added.v1', { sku: 'SKU-HOT', name: 'Hot', category: 'Tools', price: { amount: 100, currency: 'EUR' } }, at());
    await projectionOn(mongo).apply([buyer, item, received('rome', 'SKU-HOT', 150)].map((event) => ({ event })));
    const bought = () => createEvent('shop.purchase.made.v1', { customerId: 'hot-buyer', sku: 'SKU-HOT', store: 'rome', quantity: 3, unitPrice: { amount: 100, currency: 'EUR' } }, at());
    // Three db-path writers (as `stock sell` and `buy --via db` would), each selling and buying
    // by turns, 30 units three at a time, while a consumer applies 40 more sales and purchases of
    // 3 through Kafka: 210 units asked of 150, all at the same time. Every writer alternates, so
    // purchases are among the first writes whichever writer gets the leases first.
    const writer = async (first: 'sale' | 'purchase') => {
      const sink = dbSink(mongo, config.mongodb.db, projectionSettings(config));
      for (let i = 0; i < 10; i += 1) await sink.write([(i % 2 === 0) === (first === 'sale') ? sold('rome', 'SKU-HOT', 3) : bought()]);
      return sink.totals().rejected.length;
    };
    const consumer = projectUntilIdle(config, mongo, { idleMs: 2500 });
    const burst: ShopEvent[] = Array.from({ length: 40 }, (_, i) => (i % 2 ? sold('rome', 'SKU-HOT', 3) : bought()));
    const refusedByWriters = await Promise.all([writer('sale'), writer('purchase'), writer('sale'), publishAll(config, burst).then(() => 0)]);
    const totals = await consumer;
    const final = (await levelOf(mongo, 'rome', 'SKU-HOT'))!;
    expect(final).toBeGreaterThanOrEqual(0);
    // Every unit is accounted for: what the journal says was sold or bought equals what left the shelf.
    const sales = await mongo.db
      .collection<{ stock?: { change: number } }>('events')
      .find({ subject: 'stock/rome/SKU-HOT', type: 'shop.stock.sold.v1' })
      .toArray();
    const purchases = await mongo.db.collection<{ quantity: number }>('purchases').find({ sku: 'SKU-HOT', store: 'rome' }).toArray();
    const soldUnits = -sales.reduce((sum, entry) => sum + (entry.stock?.change ?? 0), 0) + purchases.reduce((sum, p) => sum + p.quantity, 0);
    expect(150 - soldUnits).toBe(final);
    expect(final).toBeLessThan(3);
    expect(purchases.length).toBeGreaterThan(0);
    // And every unit asked is either applied or refused once: 210 = applied + 3 x refusals (db
    // path refusals, plus what the consumer dead-lettered after its retries).
    const refusals = refusedByWriters.reduce((sum, n) => sum + n, 0) + totals.deadLettered;
    expect(soldUnits + 3 * refusals).toBe(210);
    expect(refusals).toBeGreaterThan(0);
  });

  it('never goes negative, and loses no unit, when the consumer and db-path writers sell one SKU at the same time', async () => {
    const { config, mongo } = await world();
    await projectionOn(mongo).apply([received('turin', 'SKU-BOTH', 150)].map((event) => ({ event })));
    const journal = () =>
      mongo.db
        .collection<{ pos: string | null; stock?: { change: number }; applied: { at: string } }>('events')
        .find({ subject: 'stock/turin/SKU-BOTH', type: 'shop.stock.sold.v1' })
        .toArray();
    // 200 sales of 1 through Kafka and 60 by two db-path writers (260 asked of 150), at the same
    // time: on FerretDB every writer leases the stock level, on MongoDB the writes are conditional.
    const consumer = projectUntilIdle(config, mongo, { idleMs: 2500 });
    await publishAll(config, Array.from({ length: 20 }, () => sold('turin', 'SKU-BOTH', 1)));
    await waitFor(async () => ((await journal()).some((entry) => entry.pos !== null) ? true : undefined), 30_000, 'the consumer to apply a first sale');
    // The pauses below spread each side's writes over the same second or two, so that they meet.
    const publisher = async () => {
      for (let i = 0; i < 9; i += 1) {
        await publishAll(config, Array.from({ length: 20 }, () => sold('turin', 'SKU-BOTH', 1)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const writer = async () => {
      const sink = dbSink(mongo, config.mongodb.db, projectionSettings(config));
      for (let i = 0; i < 30; i += 1) {
        await sink.write([sold('turin', 'SKU-BOTH', 1)]);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      return sink.totals();
    };
    const [, first, second] = await Promise.all([publisher(), writer(), writer()]);
    await consumer;
    const final = (await levelOf(mongo, 'turin', 'SKU-BOTH'))!;
    const entries = await journal();
    const soldUnits = -entries.reduce((sum, entry) => sum + (entry.stock?.change ?? 0), 0);
    // Every unit that left the shelf was sold once, by one writer or the other, and no more
    // than there were: a lost update would show as a level that disagrees with the journal.
    expect(final).toBe(0);
    expect(soldUnits).toBe(150);
    expect(entries).toHaveLength(150);
    expect(first.written + second.written).toBeGreaterThan(0);
    expect(entries.filter((entry) => entry.pos === null)).toHaveLength(first.written + second.written);
    // And they did sell at the same time: each side applied sales while the other was applying.
    const span = (fromKafka: boolean) => {
      const times = entries.filter((entry) => (entry.pos !== null) === fromKafka).map((entry) => Date.parse(entry.applied.at));
      return { first: Math.min(...times), last: Math.max(...times) };
    };
    const [kafka, db] = [span(true), span(false)];
    expect(db.first).toBeLessThan(kafka.last);
    expect(kafka.first).toBeLessThan(db.last);
    // Nothing is left leased once every writer is done.
    expect(await mongo.db.collection('locks').countDocuments({ _id: 'stock/turin:SKU-BOTH' } as object)).toBe(0);
  });

  it('refuses a db-path sale beyond stock, naming store, SKU, requested and available', async () => {
    const { cli } = await world();
    const result = await cli('stock', 'sell', '--store', 'rome', '--sku', 'SKU-NONE', '--quantity', '2', '--via', 'db');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/store 'rome', SKU 'SKU-NONE': requested 2, available 0/);
  });

  it('keeps the history of counts and changes, and the current level is the latest', async () => {
    const { mongo, cli } = await world();
    expect((await cli('stock', 'receive', '--store', 'oslo', '--sku', 'SKU-H', '--quantity', '10')).code).toBe(0);
    expect((await cli('stock', 'sell', '--store', 'oslo', '--sku', 'SKU-H', '--quantity', '4')).code).toBe(0);
    expect((await cli('stock', 'count', '--store', 'oslo', '--sku', 'SKU-H', '--level', '5')).code).toBe(0);
    expect((await cli('stock', 'count', '--store', 'oslo', '--sku', 'SKU-H', '--level', '3')).code).toBe(0);
    const history = JSON.parse((await cli('history', '--sku', 'SKU-H', '--store', 'oslo', '--json')).stdout) as Array<{ type: string; change: number | null; level: number }>;
    expect(history.map((row) => [row.type, row.change, row.level])).toEqual([
      ['incoming', 10, 10],
      ['sale', -4, 6],
      ['count', null, 5], // a count sets the level: no change
      ['count', null, 3],
    ]);
    expect(await levelOf(mongo, 'oslo', 'SKU-H')).toBe(3);
  });

  it('shows purchases in the history (each purchase is its own journal entry), in the order applied', async () => {
    const { config, mongo, cli } = await world();
    const customer = createEvent(
      'shop.customer.registered.v1',
      { customerId: 'cust-h', firstName: 'Ada', lastName: 'Hist', email: 'ada@example.com', address: { street: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'Norway' }, locale: 'en' },
      at(),
    );
    const product = createEvent('shop.product.added.v1', { sku: 'SKU-HP', name: 'History Pen', category: 'Office', price: { amount: 250, currency: 'EUR' } }, at());
    const purchase = (quantity: number) =>
      createEvent('shop.purchase.made.v1', { customerId: 'cust-h', sku: 'SKU-HP', store: 'bergen', quantity, unitPrice: { amount: 250, currency: 'EUR' } }, at());
    const sink = dbSink(mongo, config.mongodb.db, projectionSettings(config));
    await sink.write([customer, product, received('bergen', 'SKU-HP', 20), purchase(4), sold('bergen', 'SKU-HP', 1), purchase(30), purchase(2)]);
    expect(sink.totals().rejected.map((r) => r.reason)).toEqual(['insufficient_stock']); // 30 > 15 left
    const history = JSON.parse((await cli('history', '--sku', 'SKU-HP', '--json')).stdout) as Array<{ type: string; change: number; level: number }>;
    expect(history.map((row) => [row.type, row.change, row.level])).toEqual([
      ['incoming', 20, 20],
      ['purchase', -4, 16],
      ['sale', -1, 15],
      ['purchase', -2, 13],
    ]);
    // `list purchases` shows purchases, not their journal bookkeeping.
    const listed = JSON.parse((await cli('list', 'purchases', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(listed.length).toBeGreaterThan(0);
    for (const row of listed) for (const key of ['pos', 'applied', 'stock', '_rev']) expect(row).not.toHaveProperty(key);
    // A product that never received goods at the default store is out of stock there, not missing.
    const stock = JSON.parse((await cli('list', 'stock', '--sku', 'SKU-HP', '--json')).stdout) as Array<{ store: string; level: number; low: boolean }>;
    expect(stock.map((row) => [row.store, row.level, row.low])).toEqual([
      ['bergen', 13, false],
      [config.inventory.defaultStore, 0, true],
    ]);
    const alerts = JSON.parse((await cli('alerts', '--json')).stdout) as Array<{ store: string; sku: string; kind: string }>;
    expect(alerts.filter((alert) => alert.sku === 'SKU-HP')).toEqual([expect.objectContaining({ store: config.inventory.defaultStore, kind: 'out_of_stock' })]);
  });

  it('alerts on items at or under their threshold and clears them when restocked', async () => {
    const { config, cli, file } = await world();
    expect((await cli('stock', 'count', '--store', 'oslo', '--sku', 'SKU-H', '--level', '3')).code).toBe(0);
    expect((await cli('stock', 'count', '--store', 'oslo', '--sku', 'SKU-OK', '--level', '6')).code).toBe(0);
    const low = JSON.parse((await cli('list', 'stock', '--store', 'oslo', '--low', '--json')).stdout) as Array<{ sku: string }>;
    expect(low.map((row) => row.sku)).toEqual(['SKU-H']); // level 3, threshold 5

    const child = spawnCli(['--config', file, 'alerts', '--follow', '--interval', '0.3', '--json']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = () => out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event: string; sku: string; kind?: string });
    await waitFor(() => (lines().some((l) => l.event === 'raised' && l.sku === 'SKU-H') ? true : undefined), 30_000, 'the low-stock alert');
    expect((await cli('stock', 'sell', '--store', 'oslo', '--sku', 'SKU-H', '--quantity', '3')).code).toBe(0);
    await waitFor(() => (lines().some((l) => l.sku === 'SKU-H' && l.kind === 'out_of_stock') ? true : undefined), 30_000, 'out of stock');
    expect((await cli('stock', 'receive', '--store', 'oslo', '--sku', 'SKU-H', '--quantity', '50')).code).toBe(0);
    await waitFor(() => (lines().some((l) => l.event === 'cleared' && l.sku === 'SKU-H') ? true : undefined), 30_000, 'the alert to clear');
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    // Each state raised once, not once per poll.
    expect(lines().filter((l) => l.event === 'raised' && l.sku === 'SKU-H')).toHaveLength(2);

    // And they went to the alerts topic.
    const consumer = testKafka(config).consumer({ groupId: `${config.kafka.groupId}-alerts` });
    await consumer.connect();
    await consumer.subscribe({ topic: config.kafka.topics.alerts, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: ({ message }) => Promise.resolve(void seen.push(message.value?.toString() ?? '')) });
    await waitFor(() => (seen.length >= 3 ? true : undefined), 30_000, 'alerts in the topic');
    await consumer.disconnect();
    expect(seen.some((value) => value.includes('"cleared"'))).toBe(true);

    const none = JSON.parse((await cli('alerts', '--json')).stdout) as Array<{ store: string }>;
    expect(none.filter((alert) => alert.store === 'oslo')).toEqual([]);
  });

  it('a restarted alerts watcher does not raise again what an earlier one raised, and clears what recovered', async () => {
    const { cli, file } = await world();
    expect((await cli('stock', 'count', '--store', 'oslo', '--sku', 'SKU-R', '--level', '2')).code).toBe(0);
    type Line = { event: string; sku: string };
    const watch = async (until: (lines: Line[]) => boolean, then?: (lines: () => Line[]) => Promise<unknown>) => {
      const child = spawnCli(['--config', file, 'alerts', '--follow', '--interval', '0.2', '--json']);
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const lines = () => out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line);
      await waitFor(() => (err.includes('watching') ? true : undefined), 30_000, 'the watcher to start');
      await then?.(lines);
      await waitFor(() => (until(lines()) ? true : undefined), 30_000, 'the expected alerts');
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      return { lines: lines(), err };
    };
    const first = await watch((lines) => lines.some((l) => l.event === 'raised' && l.sku === 'SKU-R'));
    expect(first.lines.filter((l) => l.sku === 'SKU-R').map((l) => l.event)).toEqual(['raised']);
    // Restarted while SKU-R is still low: not raised again; restocked meanwhile: cleared.
    const second = await watch(
      (lines) => lines.some((l) => l.event === 'cleared' && l.sku === 'SKU-R'),
      async (lines) => {
        // Two polls that saw SKU-R still low: each is marked by another SKU going low, which that
        // poll raises (and would have raised SKU-R again with it, had it forgotten the earlier one).
        for (const marker of ['SKU-M1', 'SKU-M2']) {
          expect((await cli('stock', 'count', '--store', 'oslo', '--sku', marker, '--level', '1')).code).toBe(0);
          await waitFor(() => (lines().some((l) => l.event === 'raised' && l.sku === marker) ? true : undefined), 30_000, `${marker} raised`);
        }
        expect(lines().filter((l) => l.sku === 'SKU-R')).toEqual([]);
        expect((await cli('stock', 'receive', '--store', 'oslo', '--sku', 'SKU-R', '--quantity', '30')).code).toBe(0);
      },
    );
    expect(second.err).toMatch(/1 raised earlier \(alerts topic\) and not raised again/);
    expect(second.lines.filter((l) => l.sku === 'SKU-R').map((l) => l.event)).toEqual(['cleared']);
  });
});
