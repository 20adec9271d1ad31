import type { KafkaMessage } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { SimulationResult } from '../../src/services/simulate.js';
import { spawnCli } from '../helpers/cli.js';
import { testKafka, topicEnd, uniqueName, waitFor } from '../helpers/env.js';
import { worlds, type World } from '../helpers/worlds.js';

// `shopctl simulate` as a user runs it, through Kafka then `consume`: what it says it sent is what
// the topics hold and what MongoDB applied; the same seed in a fresh shop is the same events; and
// a SIGTERM is its normal end.

const json = <T>(text: string): T => JSON.parse(text) as T;
const STREAMS = ['customers', 'catalog', 'inventory', 'reservations'] as const;

/** The event ids (ce_id headers) of a topic, by partition, in order. */
async function idsOf(config: Config, topic: string): Promise<Map<number, string[]>> {
  const expected = await topicEnd(config, topic);
  const consumer = testKafka(config).consumer({ groupId: uniqueName('sim-read') });
  const byPartition = new Map<number, string[]>();
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        const ids = batch.messages.map((message: KafkaMessage) => String(message.headers?.ce_id));
        byPartition.set(batch.partition, [...(byPartition.get(batch.partition) ?? []), ...ids]);
        seen += ids.length;
        return Promise.resolve();
      },
    });
    await waitFor(() => (seen >= expected ? true : undefined), 30_000, `${expected} records of ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return byPartition;
}

async function simulated(each: World, ...args: string[]): Promise<SimulationResult> {
  expect((await each.cli('topics', 'create')).code).toBe(0);
  const result = await each.cli('simulate', '--duration', '5s', '--rate', '200', '--seed', '7', '--via', 'kafka', '--json', ...args);
  expect(result.code, result.stderr).toBe(0);
  return json<SimulationResult>(result.stdout);
}

describe('shopctl simulate', () => {
  const { world, cleanUp } = worlds('sim', { timeoutMs: 60_000 });
  afterAll(cleanUp);
  let first: { world: World; totals: SimulationResult } | undefined;

  it('through Kafka: the totals are what the topics hold and what consume applies; only refusals meant as such are dead-lettered', async () => {
    const each = await world();
    const totals = await simulated(each);
    // An empty shop: a starting catalogue first, and opening stock at each of the 3 stores.
    expect(totals.setup).toEqual({ customers: 40, products: 20, restocks: 60 });
    expect(totals.stores).toEqual(['berlin', 'paris', 'rome']);
    // About 5 s at 200/s (the first chunk starts the clock; allow for a slow machine).
    expect(totals.events).toBeGreaterThan(400);
    expect(totals.events).toBeLessThanOrEqual(1100);
    const byKind = totals.byKind;
    expect(Object.values(byKind).reduce((sum, count) => sum + count, 0)).toBe(totals.events);
    expect(byKind.purchases).toBeGreaterThan(byKind.sales);
    expect(byKind.heartbeats).toBeGreaterThanOrEqual(3);
    expect(byKind.reservations).toBeGreaterThan(0);

    // The topics hold the setup and every event counted, no more.
    const setup = totals.setup.customers + totals.setup.products + totals.setup.restocks;
    let held = 0;
    for (const stream of STREAMS) held += await topicEnd(each.config, each.config.kafka.topics[stream]);
    expect(held).toBe(setup + totals.events);

    const consumed = await each.cli('consume', '--until-idle', '3', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    const projected = json<{ applied: number; deadLettered: number; refused: { total: number; byReason: Record<string, number> } }>(consumed.stdout);
    // Dead letters: only purchases and sales meant to be refused (a retry of one can never succeed).
    expect(projected.deadLettered).toBe(totals.meantToBeRefused);
    expect(Object.keys(projected.refused.byReason).filter((reason) => reason !== 'insufficient_stock')).toEqual([]);
    // Everything else applied: the setup and the counted events (the store's decisions on the
    // reservations, published back to their topic, come back as duplicates and are not counted).
    expect(projected.applied + projected.deadLettered).toBe(setup + totals.events);

    const { db } = each.mongo;
    expect(await db.collection('customers').countDocuments()).toBe(totals.setup.customers + byKind.customers);
    expect(await db.collection('products').countDocuments()).toBe(totals.setup.products + byKind.products);
    expect(await db.collection('reservations').countDocuments()).toBe(byKind.reservations);
    const purchases = await db.collection('purchases').countDocuments();
    expect(purchases).toBeLessThanOrEqual(byKind.purchases);
    expect(purchases).toBeGreaterThanOrEqual(byKind.purchases - totals.meantToBeRefused);
    const levels = await db.collection<{ level: number; pending?: number }>('stock').find({}).toArray();
    expect(levels.length).toBeGreaterThanOrEqual(60);
    for (const doc of levels) {
      expect(doc.level).toBeGreaterThanOrEqual(0);
      expect(doc.pending ?? 0).toBeGreaterThanOrEqual(0);
    }
    first = { world: each, totals };
  });

  it('the same seed in a fresh shop makes the same events, with the same ids', async () => {
    expect(first).toBeDefined();
    const again = await world();
    const totals = await simulated(again);
    expect(totals.setup).toEqual(first!.totals.setup);
    for (const stream of STREAMS) {
      const [a, b] = await Promise.all([idsOf(first!.world.config, first!.world.config.kafka.topics[stream]), idsOf(again.config, again.config.kafka.topics[stream])]);
      // Each run stopped after its own number of chunks: per partition, one is the start of the other.
      for (const partition of new Set([...a.keys(), ...b.keys()])) {
        const x = a.get(partition) ?? [];
        const y = b.get(partition) ?? [];
        const shorter = Math.min(x.length, y.length);
        expect(shorter, `${stream} [${partition}]`).toBeGreaterThan(0);
        expect(y.slice(0, shorter), `${stream} [${partition}]`).toEqual(x.slice(0, shorter));
      }
    }
  });

  it('SIGTERM mid-run finishes the chunk in flight, prints the totals and exits 0', async () => {
    const each = await world();
    const child = spawnCli(['--config', each.file, 'simulate', '--rate', '100', '--seed', '3', '--via', 'db']);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor(() => (stderr.includes('simulating a shop') ? true : undefined), 30_000, 'the simulation to start');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(/stopping after the chunk in flight/);
    const said = /stopped: ([\d,]+) events written into MongoDB/.exec(stdout);
    expect(said, stdout).not.toBeNull();
    expect(stdout).toMatch(/purchases and sales\s+\d+ purchases/);
    expect(stdout).toMatch(/refused \d+/);
    // What it says it wrote is in MongoDB: the starting catalogue and the events, less the refused.
    const events = Number(said![1]!.replaceAll(',', ''));
    expect(events).toBeGreaterThan(0);
    const refused = Number(/refused (\d+)/.exec(stdout)![1]);
    const journal = await each.mongo.db.collection('events').countDocuments();
    const purchases = await each.mongo.db.collection('purchases').countDocuments();
    const heartbeats = Number(/heartbeats\s+(\d+)/.exec(stdout)![1]);
    // Heartbeats are not journaled; everything else applied is, in the journal or as a purchase.
    expect(journal + purchases).toBe(120 + events - refused - heartbeats);
  });
});
