import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { THREAD_MIN_COUNT } from '../../src/commands/buy.js';
import { loadCatalog, randomPurchaseEvents } from '../../src/services/buy.js';
import { createRuntime } from '../../src/services/runtime.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, testKafka, waitFor, type TestMongo } from '../helpers/env.js';

// The commands as a user runs them: the real CLI against the local stack, with a config file
// that gives this file its own database, topics and consumer group.
describe('shopctl commands', () => {
  let config: Config;
  let file: string;
  let mongo: TestMongo;
  const cli = (...args: string[]) => runCli(['--config', file, ...args], {}, { timeoutMs: 60_000 });
  const json = <T>(text: string): T => JSON.parse(text) as T;

  beforeAll(async () => {
    config = testConfig();
    const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-cmd-'));
    file = path.join(dir, 'shopctl.yaml');
    await writeFile(file, stringify(config));
    mongo = await connectTestMongo(config);
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('makes customers and products --via db, reproducibly with --seed', async () => {
    const made = await cli('make', 'customers', '--count', '5', '--seed', '11', '--via', 'db', '--json');
    expect(made.code, made.stderr).toBe(0);
    expect(json<{ count: number; via: string }>(made.stdout)).toMatchObject({ count: 5, via: 'db', duplicates: 0 });

    const again = await cli('make', 'customers', '--count', '5', '--seed', '11', '--via', 'db', '--json');
    expect(json<{ count: number; duplicates: number }>(again.stdout)).toMatchObject({ count: 0, duplicates: 5 });

    const products = await cli('make', 'products', '--count', '4', '--seed', '12', '--via', 'db');
    expect(products.code, products.stderr).toBe(0);
    expect(products.stdout).toMatch(/wrote 8 events \(4 products, each with 1000 received at 'online'\) into MongoDB database/);

    const list = await cli('list', 'customers', '--json');
    const customers = json<Array<{ _id: string; email: string; _rev?: number }>>(list.stdout);
    expect(customers).toHaveLength(5);
    expect(customers[0]).not.toHaveProperty('_rev'); // bookkeeping stays internal
    const table = await cli('list', 'products');
    expect(table.stdout).toMatch(/4 of 4 products/);
  });

  it('buys at random and lists the latest purchases, with what each customer owns', async () => {
    const bought = await cli('buy', '--random', '--count', '60', '--seed', '13', '--via', 'db', '--json');
    expect(bought.code, bought.stderr).toBe(0);
    expect(json<{ count: number }>(bought.stdout).count, bought.stdout).toBe(60);

    const latest = json<Array<{ time: string }>>((await cli('list', 'purchases', '--limit', '3', '--json')).stdout);
    expect(latest).toHaveLength(3);
    expect([...latest].sort((a, b) => b.time.localeCompare(a.time))).toEqual(latest);

    const customers = json<Array<{ purchases: number; owned: Array<{ sku: string; quantity: number }> }>>(
      (await cli('list', 'customers', '--sort', 'purchases', '--json')).stdout,
    );
    expect(customers.reduce((sum, customer) => sum + customer.purchases, 0)).toBe(60);
    const owned = customers.flatMap((customer) => customer.owned).reduce((sum, item) => sum + item.quantity, 0);
    const sold = await mongo.db.collection('purchases').aggregate<{ q: number }>([{ $group: { _id: null, q: { $sum: '$quantity' } } }]).toArray();
    expect(owned).toBe(sold[0]!.q);
  });

  it('refuses a purchase of an unknown customer or product with a clear error', async () => {
    const products = json<Array<{ _id: string }>>((await cli('list', 'products', '--json')).stdout);
    const result = await cli('buy', '--customer', 'nobody', '--product', products[0]!._id, '--via', 'db');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unknown customer 'nobody'/);
    expect(result.stderr).not.toMatch(/^\s+at /m);

    const neither = await cli('buy', '--count', '3');
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/--random, or --customer ID --product SKU/);
  });

  it('buys one named purchase via kafka and consume projects it', async () => {
    const customers = json<Array<{ _id: string }>>((await cli('list', 'customers', '--json')).stdout);
    const products = json<Array<{ _id: string }>>((await cli('list', 'products', '--json')).stdout);
    const before = await mongo.db.collection('purchases').countDocuments();
    const one = await cli('buy', '--customer', customers[0]!._id, '--product', products[0]!._id, '--quantity', '7', '--via', 'kafka');
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/published 1 purchases to Kafka/);

    const consumed = await cli('consume', '--until-idle', '2', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(json<{ applied: number }>(consumed.stdout).applied).toBe(1);
    expect(await mongo.db.collection('purchases').countDocuments({ quantity: 7, customerId: customers[0]!._id })).toBeGreaterThanOrEqual(1);
    expect(await mongo.db.collection('purchases').countDocuments()).toBe(before + 1);

    const described = json<{ partitions: Array<{ topic: string; lag: number }> }>((await cli('topics', 'describe', '--json')).stdout);
    const inventory = described.partitions.filter((p) => p.topic === config.kafka.topics.inventory);
    expect(inventory).toHaveLength(3);
    expect(inventory.reduce((sum, p) => sum + p.lag, 0)).toBe(0);
  });

  it('paces purchases with --rate', async () => {
    const started = Date.now();
    const paced = await cli('buy', '--random', '--count', '40', '--rate', '20', '--via', 'kafka');
    expect(paced.code, paced.stderr).toBe(0);
    // 40 purchases at 20/s cannot finish in much under two seconds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1800);
  });

  it('publishes a large unpaced run from its generator thread: the purchases a seed gives, each once, in order per key', async () => {
    // Topics of its own, so that the other tests' consumers do not see these purchases.
    const own: Config = { ...config, kafka: { ...config.kafka, topics: { ...config.kafka.topics, inventory: `${config.kafka.topics.inventory}-threaded` } } };
    const ownFile = path.join(path.dirname(file), 'threaded.yaml');
    await writeFile(ownFile, stringify(own));
    const count = THREAD_MIN_COUNT;
    const bought = await runCli(['--config', ownFile, 'buy', '--random', '--count', String(count), '--seed', '21', '--via', 'kafka', '--json'], {}, { timeoutMs: 60_000 });
    expect(bought.code, bought.stderr).toBe(0);
    expect(json<{ count: number }>(bought.stdout).count).toBe(count);

    const catalog = await loadCatalog(mongo.db, own.mongodb.db);
    const options = { count, store: own.inventory.defaultStore, chunk: 1000 };
    const expected = [...randomPurchaseEvents(createRuntime(21), catalog, options)].flat();
    const position = new Map(expected.map((event, index) => [event.id, index]));

    const kafka = testKafka(own);
    const consumer = kafka.consumer({ groupId: `${own.kafka.groupId}-threaded-reader` });
    const byPartition = new Map<number, string[]>();
    let seen = 0;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: own.kafka.topics.inventory, fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const list = byPartition.get(batch.partition) ?? [];
          for (const message of batch.messages) list.push(String(message.headers?.ce_id));
          byPartition.set(batch.partition, list);
          seen += batch.messages.length;
          await Promise.resolve();
        },
      });
      await waitFor(() => (seen >= count ? true : undefined), 30_000, `${count} purchases on the topic`);
      await new Promise((resolve) => setTimeout(resolve, 500)); // anything beyond `count` would show now
    } finally {
      await consumer.disconnect();
    }
    const ids = [...byPartition.values()].flat();
    expect(ids).toHaveLength(count);
    expect(new Set(ids).size).toBe(count);
    expect(ids.every((id) => position.has(id))).toBe(true);
    for (const list of byPartition.values()) {
      const order = list.map((id) => position.get(id) ?? -1);
      expect(order.every((value, index) => index === 0 || value > (order[index - 1] ?? -1))).toBe(true);
    }
  });

  it('finishes the batch, commits and exits 0 with the totals on SIGTERM', async () => {
    const child = spawnCli(['--config', file, 'consume']);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // The 40 paced purchases of the previous test are waiting for it.
    await waitFor(async () => ((await mongo.db.collection('purchases').countDocuments()) >= 101 ? true : undefined), 60_000, 'consume to apply');
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(output).toMatch(/stopped: applied 40,/);
    const lag = json<{ partitions: Array<{ lag: number }> }>((await cli('topics', 'describe', '--json')).stdout);
    expect(lag.partitions.reduce((sum, p) => sum + p.lag, 0)).toBe(0);
  });
});
