import { writeFile } from 'node:fs/promises';
import type { Admin } from 'kafkajs';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { readToEnd } from '../../src/kafka/read-to-end.js';
import { createKafka } from '../../src/kafka/client.js';
import { spawnCli } from '../helpers/cli.js';
import { testKafka, waitFor, type TestMongo } from '../helpers/env.js';
import { worlds, type World } from '../helpers/worlds.js';

// Issue 10: `shopctl relay` publishes the outbox of the db path to Kafka, at least once, in order
// per key, never a write still in flight; killed at any point and restarted, it loses nothing.

const { world, cleanUp } = worlds('relay', { timeoutMs: 120_000 });
afterAll(cleanUp);

const streams = ['customers', 'catalog', 'inventory', 'reservations'] as const;
const topicsOf = (config: Config): string[] => streams.map((stream) => config.kafka.topics[stream]);

const exited = (child: ReturnType<typeof spawnCli>): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

/** Records on the event topics (the sum of their end offsets), with one admin for all the polls. */
async function withTopicEnds<T>(config: Config, work: (ends: () => Promise<number>) => Promise<T>): Promise<T> {
  const admin: Admin = testKafka(config).admin();
  await admin.connect();
  try {
    return await work(async () => {
      let sum = 0;
      for (const topic of topicsOf(config)) {
        try {
          sum += (await admin.fetchTopicOffsets(topic)).reduce((total, partition) => total + Number(partition.high), 0);
        } catch {
          // Not created yet (the relay creates the topics when it starts): nothing on it.
        }
      }
      return sum;
    });
  } finally {
    await admin.disconnect();
  }
}

/** Every event id on the event topics, with how often each is there. */
async function idsOnTopics(config: Config): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  await readToEnd(createKafka(config), config, topicsOf(config), (_topic, _partition, message) => {
    const id = (JSON.parse(message.value?.toString() ?? '') as { id: string }).id;
    ids.set(id, (ids.get(id) ?? 0) + 1);
  });
  return ids;
}

const outboxCount = (mongo: TestMongo): Promise<number> => mongo.db.collection('outbox').countDocuments();

/** A collection without the write bookkeeping (which intent wrote it, where it was applied from), by _id. */
async function contents(mongo: TestMongo, name: string): Promise<unknown[]> {
  const bookkeeping = new Set(['_intent', '_at', 'intent', 'applied', 'pos']);
  const docs = await mongo.db.collection<{ _id: string }>(name).find({}).toArray();
  return docs
    .sort((a, b) => (a._id < b._id ? -1 : 1))
    .map((doc) => Object.fromEntries(Object.entries(doc).filter(([key]) => !bookkeeping.has(key))));
}

describe('relay', () => {
  it('killed with SIGKILL three times while publishing, then run to the end: every outbox event is on Kafka, and consuming the topics into another database gives the same shop', async () => {
    const a = await world();
    for (const args of [
      ['make', 'customers', '--count', '2000', '--seed', '1', '--via', 'db'],
      ['make', 'products', '--count', '500', '--seed', '2', '--via', 'db'],
      ['buy', '--random', '--count', '7500', '--seed', '3', '--via', 'db'],
    ]) {
      const made = await a.cli(...args);
      expect(made.code, made.stderr).toBe(0);
    }
    const records = await a.mongo.db.collection<{ _id: string; value: string }>('outbox').find({}).toArray();
    expect(records.length).toBeGreaterThanOrEqual(10_000);
    const expected = records.map((record) => (JSON.parse(record.value) as { id: string }).id);

    // Three kills, each after at least another 1,500 records reached Kafka, each provably mid-run:
    // more on the topics than before it, and records still waiting in the outbox after it.
    await withTopicEnds(a.config, async (ends) => {
      let before = 0;
      let waiting = records.length;
      for (let kill = 1; kill <= 3; kill += 1) {
        const relay = spawnCli(['--config', a.file, 'relay', '--batch', '250']);
        const done = exited(relay);
        const threshold = before + 1500;
        await waitFor(async () => ((await ends()) >= threshold ? true : undefined), 60_000, `${threshold} records on the topics (kill ${kill})`);
        relay.kill('SIGKILL');
        await done;
        expect(relay.signalCode, `kill ${kill}`).toBe('SIGKILL');
        const published = await ends();
        const left = await outboxCount(a.mongo);
        expect(published, `kill ${kill}: published more than before`).toBeGreaterThan(before);
        expect(left, `kill ${kill}: landed mid-run (records still waiting)`).toBeGreaterThan(0);
        expect(left, `kill ${kill}: deleted some`).toBeLessThan(waiting);
        before = published;
        waiting = left;
      }
    });

    const last = await a.cli('relay', '--until-empty', '--json');
    expect(last.code, last.stderr).toBe(0);
    const totals = JSON.parse(last.stdout) as { published: number; stopped: string };
    expect(totals.stopped).toBe('empty');
    expect(await outboxCount(a.mongo)).toBe(0);

    const onTopics = await idsOnTopics(a.config);
    const missing = expected.filter((id) => !onTopics.has(id));
    expect(missing, 'outbox events not on Kafka').toEqual([]);
    expect(onTopics.size).toBe(new Set(expected).size);
    // At least once, and no more than what a kill can leave published but not deleted: the batch
    // in hand and the deletes queued behind it (two batches of 250 per kill).
    const repeats = [...onTopics.values()].reduce((sum, times) => sum + times - 1, 0);
    expect(repeats).toBeLessThanOrEqual(3 * 2 * 250);

    // World B: its own database and consumer group, A's topics. Kafka orders a key, not topics:
    // consumed all at once, a purchase can come before the product it names and be retried
    // later, out of its order. So B consumes as A was written: customers and the catalogue first
    // (the inventory topic pointed at B's own, empty one), then everything.
    const b = await world();
    const consumeFrom = async (topics: Config['kafka']['topics']) => {
      await writeFile(b.file, stringify({ ...b.config, kafka: { ...b.config.kafka, topics } }));
      const consumed = await b.cli('consume', '--until-idle', '3', '--json');
      expect(consumed.code, consumed.stderr).toBe(0);
      return JSON.parse(consumed.stdout) as { applied: number; retried: number; deadLettered: number };
    };
    await consumeFrom({ ...a.config.kafka.topics, inventory: b.config.kafka.topics.inventory });
    expect(await consumeFrom(a.config.kafka.topics)).toMatchObject({ retried: 0, deadLettered: 0 });
    for (const name of ['customers', 'products', 'stock', 'purchases']) {
      const [inA, inB] = await Promise.all([contents(a.mongo, name), contents(b.mongo, name)]);
      expect(inA.length, name).toBeGreaterThan(0);
      expect(inB, name).toEqual(inA);
    }
  });

  it('reservations made --via db reach a database built from the relayed topics as the store decided them (decisions, not requests)', async () => {
    const a = await world();
    for (const args of [
      ['make', 'products', '--count', '1', '--seed', '5', '--via', 'db'],
    ]) {
      const made = await a.cli(...args);
      expect(made.code, made.stderr).toBe(0);
    }
    const sku = (await a.mongo.db.collection<{ _id: string }>('products').findOne({}))!._id;
    const steps: Array<[string[], number]> = [
      [['stock', 'count', '--sku', sku, '--level', '3'], 0],
      [['reserve', '--customer', 'c-1', '--sku', sku, '--quantity', '2', '--id', 'r-yes'], 0],
      [['reserve', '--customer', 'c-2', '--sku', sku, '--quantity', '2', '--id', 'r-no'], 3],
      [['reservations', 'fulfil', 'r-yes'], 0],
    ];
    for (const [args, code] of steps) {
      const done = await a.cli(...args);
      expect(done.code, `${args.join(' ')}: ${done.stderr}`).toBe(code);
    }
    const relayed = await a.cli('relay', '--until-empty');
    expect(relayed.code, relayed.stderr).toBe(0);
    const onTopics = await idsOnTopics(a.config);
    expect(onTopics.has('rsv.decided.r-yes') && onTopics.has('rsv.decided.r-no')).toBe(true);
    expect(onTopics.has('rsv.requested.r-yes')).toBe(false);

    // B consumes in A's order: stock before the reservations that hold it.
    const b = await world();
    const consumeFrom = async (topics: Config['kafka']['topics']) => {
      await writeFile(b.file, stringify({ ...b.config, kafka: { ...b.config.kafka, topics } }));
      const consumed = await b.cli('consume', '--until-idle', '3', '--json');
      expect(consumed.code, consumed.stderr).toBe(0);
      return JSON.parse(consumed.stdout) as { applied: number; retried: number; deadLettered: number };
    };
    await consumeFrom({ ...a.config.kafka.topics, reservations: b.config.kafka.topics.reservations });
    expect(await consumeFrom(a.config.kafka.topics)).toMatchObject({ retried: 0, deadLettered: 0 });
    for (const name of ['reservations', 'stock']) {
      const [inA, inB] = await Promise.all([contents(a.mongo, name), contents(b.mongo, name)]);
      expect(inA.length, name).toBeGreaterThan(0);
      expect(inB, name).toEqual(inA);
    }
    expect(await b.mongo.db.collection('reservations').findOne({ _id: 'r-no' } as object)).toMatchObject({ status: 'rejected', reason: 'insufficient_stock' });
  });

  it('publishes nothing of a write still in flight (its intent head in `intents`), nor anything after it, until it is complete', async () => {
    const c: World = await world();
    expect((await c.cli('make', 'customers', '--count', '3', '--seed', '1', '--via', 'db')).code).toBe(0);
    expect((await c.cli('make', 'customers', '--count', '3', '--seed', '2', '--via', 'db')).code).toBe(0);
    expect((await c.cli('make', 'customers', '--count', '3', '--seed', '3', '--via', 'db')).code).toBe(0);
    const outbox = c.mongo.db.collection<{ _id: string; intent: string }>('outbox');
    const intents = [...new Set((await outbox.find({}).sort({ _id: 1 }).toArray()).map((record) => record.intent))];
    expect(intents).toHaveLength(3);
    // The second write, as if its writer were still at it.
    const inFlight = intents[1]!;
    await c.mongo.db.collection<{ _id: string }>('intents').insertOne({ _id: inFlight, at: new Date().toISOString(), keys: [] } as never);

    const status = await c.cli('relay', '--status', '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ waiting: 9, inFlight: 1, blockedBy: null });

    await withTopicEnds(c.config, async (ends) => {
      const relay = spawnCli(['--config', c.file, 'relay', '--every', '200ms', '--json']);
      let stdout = '';
      relay.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const done = exited(relay);
      try {
        await waitFor(async () => ((await ends()) >= 3 && (await outboxCount(c.mongo)) === 6 ? true : undefined), 30_000, 'the first write published');
        // Several more looks at the outbox: still nothing of the write in flight, nor of the third.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(await ends()).toBe(3);
        const blocked = await c.cli('relay', '--status', '--json');
        expect(JSON.parse(blocked.stdout)).toMatchObject({ waiting: 6, inFlight: 1, blockedBy: { intent: inFlight } });
        const text = await c.cli('relay', '--status');
        expect(text.stdout).toContain(`blocked: the oldest event belongs to write intent ${inFlight}`);

        // The write completes: the rest follows.
        await c.mongo.db.collection<{ _id: string }>('intents').deleteOne({ _id: inFlight });
        await waitFor(async () => ((await ends()) === 9 && (await outboxCount(c.mongo)) === 0 ? true : undefined), 30_000, 'the rest published');
        relay.kill('SIGTERM');
        expect(await done).toBe(0);
        expect(JSON.parse(stdout)).toMatchObject({ published: 9, stopped: 'signal' });
      } finally {
        relay.kill('SIGKILL');
      }
    });
  });

  it('completes a write its writer left in flight (crashed) once it is 30 s old, and publishes what follows', async () => {
    const d: World = await world();
    for (const seed of ['1', '2', '3']) expect((await d.cli('make', 'customers', '--count', '3', '--seed', seed, '--via', 'db')).code).toBe(0);
    const outbox = d.mongo.db.collection<{ _id: string; intent: string }>('outbox');
    const intents = [...new Set((await outbox.find({}).sort({ _id: 1 }).toArray()).map((record) => record.intent))];
    // The second write's head left behind, a minute old, as if its writer had crashed before
    // removing it (everything else of that write is in): nobody writes those documents again.
    const left = intents[1]!;
    await d.mongo.db.collection<{ _id: string }>('intents').insertOne({ _id: left, at: new Date(Date.now() - 60_000).toISOString(), keys: [] } as never);
    const run = await d.cli('relay', '--until-empty', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ published: 9, recovered: 1, stopped: 'empty' });
    expect(await d.mongo.db.collection('intents').countDocuments()).toBe(0);
  });

  it('a second relay waits while one runs, says so, and stops at once on SIGTERM', async () => {
    const e: World = await world();
    expect((await e.cli('make', 'customers', '--count', '3', '--seed', '1', '--via', 'db')).code).toBe(0);
    const first = spawnCli(['--config', e.file, 'relay', '--every', '200ms']);
    const firstDone = exited(first);
    try {
      await waitFor(async () => ((await outboxCount(e.mongo)) === 0 ? true : undefined), 30_000, 'the first relay to publish');
      const second = spawnCli(['--config', e.file, 'relay', '--until-empty', '--json']);
      let stderr = '';
      let stdout = '';
      second.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      second.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const secondDone = exited(second);
      await waitFor(() => (stderr.includes('another relay is publishing') ? true : undefined), 15_000, 'the second relay to say it waits');
      second.kill('SIGTERM');
      expect(await secondDone).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ published: 0, stopped: 'signal' });
      first.kill('SIGTERM');
      expect(await firstDone).toBe(0);
    } finally {
      first.kill('SIGKILL');
    }
  });
});
