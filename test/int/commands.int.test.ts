import type { KafkaMessage } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { THREAD_MIN_COUNT } from '../../src/commands/buy.js';
import { loadCatalog, randomPurchaseEvents } from '../../src/services/buy.js';
import { createRuntime } from '../../src/services/runtime.js';
import { spawnCli } from '../helpers/cli.js';
import { testKafka, topicEnd, uniqueName, waitFor } from '../helpers/env.js';
import { worlds, type World } from '../helpers/worlds.js';

// The commands as a user runs them: the real CLI against the local stack. Every test has a world
// of its own (a config file naming its own database, topics and consumer group) and makes in it
// what it needs, so the tests run in any order, alone or together.

const json = <T>(text: string): T => JSON.parse(text) as T;

/** What a consumer group has committed on a topic, summed over its partitions (none: 0). */
async function committed(config: Config, groupId: string, topic: string): Promise<number> {
  const admin = testKafka(config).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every record of a topic (as many as its end offsets say it holds), by partition, in order. */
async function readTopic(config: Config, topic: string): Promise<Map<number, KafkaMessage[]>> {
  const expected = await topicEnd(config, topic);
  const consumer = testKafka(config).consumer({ groupId: uniqueName('cmd-read') });
  const byPartition = new Map<number, KafkaMessage[]>();
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        byPartition.set(batch.partition, [...(byPartition.get(batch.partition) ?? []), ...batch.messages]);
        seen += batch.messages.length;
        return Promise.resolve();
      },
    });
    await waitFor(() => (seen >= expected ? true : undefined), 30_000, `${expected} records of ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return byPartition;
}

describe('shopctl commands', () => {
  const { world, cleanUp } = worlds('cmd');

  /** A world with seeded customers and products (each with `stock` units at the default store) in MongoDB. */
  async function shop(sizes: { customers: number; products: number; stock?: number }): Promise<World> {
    const each = await world();
    const customers = await each.cli('make', 'customers', '--count', String(sizes.customers), '--seed', '11', '--via', 'db');
    expect(customers.code, customers.stderr).toBe(0);
    const stock = sizes.stock === undefined ? [] : ['--stock', String(sizes.stock)];
    const products = await each.cli('make', 'products', '--count', String(sizes.products), '--seed', '12', ...stock, '--via', 'db');
    expect(products.code, products.stderr).toBe(0);
    return each;
  }

  afterAll(cleanUp);

  it('makes customers and products --via db, reproducibly with --seed', async () => {
    const { cli } = await world();
    const made = await cli('make', 'customers', '--count', '5', '--seed', '11', '--via', 'db', '--json');
    expect(made.code, made.stderr).toBe(0);
    expect(json<{ count: number; via: string }>(made.stdout)).toMatchObject({ count: 5, via: 'db', duplicates: 0 });

    const again = await cli('make', 'customers', '--count', '5', '--seed', '11', '--via', 'db', '--json');
    expect(json<{ count: number; duplicates: number }>(again.stdout)).toMatchObject({ count: 0, duplicates: 5 });

    const products = await cli('make', 'products', '--count', '4', '--seed', '12', '--via', 'db');
    expect(products.code, products.stderr).toBe(0);
    expect(products.stdout).toMatch(/wrote 8 events \(4 products, each with 1000 received at 'online'\) into MongoDB database/);

    const list = await cli('list', 'customers', '--json');
    const customers = json<Array<{ id: string; email: string; _rev?: number }>>(list.stdout);
    expect(customers).toHaveLength(5);
    expect(customers[0]).not.toHaveProperty('_rev'); // bookkeeping stays internal
    const table = await cli('list', 'products');
    expect(table.stdout).toMatch(/4 of 4 products/);
  });

  it('buys at random and lists the latest purchases, with what each customer owns', async () => {
    const { cli, mongo } = await shop({ customers: 5, products: 4 });
    const bought = await cli('buy', '--random', '--count', '60', '--seed', '13', '--via', 'db', '--json');
    expect(bought.code, bought.stderr).toBe(0);
    expect(json<{ count: number }>(bought.stdout).count, bought.stdout).toBe(60);

    const latest = json<Array<{ time: string }>>((await cli('list', 'purchases', '--limit', '3', '--json')).stdout);
    expect(latest).toHaveLength(3);
    expect([...latest].sort((a, b) => b.time.localeCompare(a.time))).toEqual(latest);

    const customers = json<Array<{ purchases: number; owns: Array<{ sku: string; quantity: number }> }>>(
      (await cli('list', 'customers', '--sort', 'purchases', '--json')).stdout,
    );
    expect(customers.reduce((sum, customer) => sum + customer.purchases, 0)).toBe(60);
    const owned = customers.flatMap((customer) => customer.owns).reduce((sum, item) => sum + item.quantity, 0);
    const sold = await mongo.db.collection('purchases').aggregate<{ q: number }>([{ $group: { _id: null, q: { $sum: '$quantity' } } }]).toArray();
    expect(owned).toBe(sold[0]!.q);
  });

  it('refuses a purchase of an unknown customer or product with a clear error', async () => {
    const { cli } = await shop({ customers: 1, products: 1 });
    const products = json<Array<{ sku: string }>>((await cli('list', 'products', '--json')).stdout);
    expect(products).toHaveLength(1);
    const result = await cli('buy', '--customer', 'nobody', '--product', products[0]!.sku, '--via', 'db');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unknown customer 'nobody'/);
    expect(result.stderr).not.toMatch(/^\s+at /m);

    const neither = await cli('buy', '--count', '3');
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/--random, or --customer ID --product SKU/);
  });

  it('buys one named purchase via kafka and consume projects it', async () => {
    const { cli, config, mongo } = await shop({ customers: 3, products: 2 });
    const customers = json<Array<{ id: string }>>((await cli('list', 'customers', '--json')).stdout);
    const products = json<Array<{ sku: string }>>((await cli('list', 'products', '--json')).stdout);
    const one = await cli('buy', '--customer', customers[0]!.id, '--product', products[0]!.sku, '--quantity', '7', '--via', 'kafka');
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/published 1 purchases to Kafka/);

    const consumed = await cli('consume', '--until-idle', '2', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(json<{ applied: number }>(consumed.stdout).applied).toBe(1);
    expect(await mongo.db.collection('purchases').countDocuments({ quantity: 7, customerId: customers[0]!.id, sku: products[0]!.sku })).toBe(1);
    expect(await mongo.db.collection('purchases').countDocuments()).toBe(1);

    const described = json<{ partitions: Array<{ topic: string; lag: number }> }>((await cli('topics', 'describe', '--json')).stdout);
    const inventory = described.partitions.filter((p) => p.topic === config.kafka.topics.inventory);
    expect(inventory).toHaveLength(3);
    expect(inventory.reduce((sum, p) => sum + p.lag, 0)).toBe(0);
  });

  it('paces purchases with --rate', async () => {
    const { cli, config } = await shop({ customers: 3, products: 2 });
    const count = 40;
    const rate = 20;
    const paced = await cli('buy', '--random', '--count', String(count), '--rate', String(rate), '--via', 'kafka', '--json');
    expect(paced.code, paced.stderr).toBe(0);
    const summary = json<{ count: number; elapsedMs: number }>(paced.stdout);
    expect(summary.count).toBe(count);
    // The command's own clock starts with the first purchase, after start-up and connecting:
    // 40 purchases at 20/s take two seconds of it (less a timer's millisecond of slack).
    expect(summary.elapsedMs).toBeGreaterThanOrEqual((count / rate) * 1000 - 10);

    // And the purchases were made spread over that time, not at once and then held back: the pump
    // makes purchase k (k >= 1) once k - 1 intervals of the schedule have passed, and the first at
    // its start (plus the few ms of setting up the generator, allowed for with one more interval).
    const records = [...(await readTopic(config, config.kafka.topics.inventory)).values()].flat();
    expect(records).toHaveLength(count);
    const made = records.map((record) => Date.parse(json<{ time: string }>(String(record.value)).time)).sort((a, b) => a - b);
    const interval = 1000 / rate;
    made.forEach((at, k) => expect(at - made[0]!, `purchase ${k}`).toBeGreaterThanOrEqual(Math.max(0, k - 2) * interval));
  });

  it('publishes a large unpaced run from its generator thread: the purchases a seed gives, each once, in order per key', async () => {
    const { cli, config, mongo } = await shop({ customers: 5, products: 4 });
    const count = THREAD_MIN_COUNT;
    const bought = await cli('buy', '--random', '--include-out-of-stock', '--count', String(count), '--seed', '21', '--via', 'kafka', '--json');
    expect(bought.code, bought.stderr).toBe(0);
    expect(json<{ count: number }>(bought.stdout).count).toBe(count);

    const catalog = await loadCatalog(mongo.db, config.mongodb.db);
    const options = { count, store: config.inventory.defaultStore, chunk: 1000 };
    const expected = [...randomPurchaseEvents(createRuntime(21), catalog, options)].flat();
    const position = new Map(expected.map((event, index) => [event.id, index]));

    // The topic's end offsets say how many records it holds: exactly `count`, none beyond.
    expect(await topicEnd(config, config.kafka.topics.inventory)).toBe(count);
    const byPartition = await readTopic(config, config.kafka.topics.inventory);
    const ids = [...byPartition.values()].flat().map((message) => String(message.headers?.ce_id));
    expect(ids).toHaveLength(count);
    expect(new Set(ids).size).toBe(count);
    expect(ids.every((id) => position.has(id))).toBe(true);
    for (const messages of byPartition.values()) {
      const order = messages.map((message) => position.get(String(message.headers?.ce_id)) ?? -1);
      expect(order.every((value, index) => index === 0 || value > (order[index - 1] ?? -1))).toBe(true);
    }
  });

  it('finishes the batch, commits and exits 0 with the totals on SIGTERM', async () => {
    // A backlog of 30,000 seeded purchases of 10 products with stock for all of them. The
    // consumer applies at most 5,000 events of a partition per chunk, 3 partitions at a time,
    // so SIGTERM as soon as the first purchases are visible lands with chunks in hand.
    const { cli, config, mongo, file } = await shop({ customers: 20, products: 10, stock: 1_000_000 });
    const count = 30_000;
    const bought = await cli('buy', '--random', '--include-out-of-stock', '--count', String(count), '--seed', '31', '--via', 'kafka', '--json');
    expect(bought.code, bought.stderr).toBe(0);
    expect(await topicEnd(config, config.kafka.topics.inventory)).toBe(count);
    const catalog = await loadCatalog(mongo.db, config.mongodb.db);
    const expected = [...randomPurchaseEvents(createRuntime(31), catalog, { count, store: config.inventory.defaultStore, chunk: 1000 })].flat();
    expect(expected).toHaveLength(count);
    const purchases = mongo.db.collection<{ _id: string; sku: string; quantity: number }>('purchases');

    const child = spawnCli(['--config', file, 'consume']);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(async () => ((await purchases.countDocuments()) > 0 ? true : undefined), 60_000, 'consume to apply a first purchase');
    child.kill('SIGTERM');
    // Counted after the signal was sent: whatever is applied beyond this, the consumer applied
    // after it was told to stop, that is, it finished the work it had in hand.
    const atSignal = await purchases.countDocuments();
    expect(await exit, output).toBe(0);

    const totals = /stopped: applied (\d+), duplicates skipped (\d+), retried later (\d+), dead-lettered (\d+)/.exec(output);
    expect(totals, output).not.toBeNull();
    const [applied, duplicates, retried, deadLettered] = totals!.slice(1).map(Number);
    expect({ duplicates, retried, deadLettered }).toEqual({ duplicates: 0, retried: 0, deadLettered: 0 });
    // SIGTERM landed once purchases were being applied (counting them can take as long as the
    // chunk in hand takes to finish: equal is fine), and before all of them were.
    expect(applied).toBeGreaterThanOrEqual(atSignal);
    expect(applied).toBeLessThan(count);
    // What it reports is what is in MongoDB, and what it committed: nothing half done, nothing lost.
    expect(await purchases.countDocuments()).toBe(applied);
    expect(await committed(config, config.kafka.groupId, config.kafka.topics.inventory)).toBe(applied);

    // A second run applies exactly the rest: nothing twice, nothing missing.
    const rest = await cli('consume', '--until-idle', '3', '--json');
    expect(rest.code, rest.stderr).toBe(0);
    expect(json<{ applied: number; duplicates: number; retried: number; deadLettered: number }>(rest.stdout)).toMatchObject({
      applied: count - applied!,
      duplicates: 0,
      retried: 0,
      deadLettered: 0,
    });
    const ids = (await purchases.find({}, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id).sort();
    expect(ids).toEqual(expected.map((event) => event.id).sort());
    // Each purchase took its units from the shelf once: the levels are those the seed's purchases give.
    const sold = new Map<string, number>();
    for (const event of expected) {
      const { sku, quantity } = event.data as { sku: string; quantity: number };
      sold.set(sku, (sold.get(sku) ?? 0) + quantity);
    }
    const levels = await mongo.db.collection<{ _id: string; level: number }>('stock').find({}).toArray();
    expect(Object.fromEntries(levels.map((doc) => [doc._id, doc.level]))).toEqual(
      Object.fromEntries(catalog.products.map((product) => [`${config.inventory.defaultStore}:${product.sku}`, 1_000_000 - (sold.get(product.sku) ?? 0)])),
    );
    const lag = json<{ partitions: Array<{ lag: number }> }>((await cli('topics', 'describe', '--json')).stdout);
    expect(lag.partitions.reduce((sum, p) => sum + p.lag, 0)).toBe(0);
  }, 240_000);
});
