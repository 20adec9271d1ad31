import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import type { Db } from 'mongodb';
import type { PurchaseDoc } from '../src/domain/documents.js';
import { encodeEvent } from '../src/kafka/codec.js';
import { loadCatalog, stockAtStart, stockAwarePurchaseEvents } from '../src/services/buy.js';
import { chunkForRate } from '../src/services/pump.js';
import { createRuntime } from '../src/services/runtime.js';
import type { Cli } from './cli.js';
import { byPartition, percentile } from './workload.js';
import type { World } from './workspace.js';

export interface LatencyMeasurement {
  rate: number;
  events: number;
  /** Purchases whose visibility was observed (should equal events). */
  observed: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** How often MongoDB was probed, and how long a round of probes took on average (the resolution). */
  pollEveryMs: number;
  roundTookMs: number;
  /** Lookups by _id per round, on average: the load the measurement itself adds. */
  lookupsPerRound: number;
  consumePeakRss: number | null;
  buyPeakRss: number | null;
}

const SEED = 4;

/**
 * Produce to visible in MongoDB, with `consume` running and `buy --random --rate R --via kafka`
 * producing. buy stamps each purchase with the time it is made (`time`, just before it is sent);
 * it is visible when its purchase document (_id = event id) can be read.
 *
 * The bench regenerates the seeded purchases to know each one's id and partition. Within a
 * partition shopctl applies purchases in order, so each round probes only the oldest purchase
 * not yet seen in each partition, by exact _id (the one query FerretDB answers from its index;
 * any other filter scans the collection), and when it is there, finds how far the visible prefix
 * now reaches with a galloping search. A purchase counts as visible at the end of the round that
 * first found it: the resolution is the poll interval plus a round's duration.
 */
export async function measureLatency(
  cli: Cli,
  world: World,
  admin: Admin,
  db: Db,
  options: { rate: number; seconds: number; group: string; pollMs: number },
): Promise<LatencyMeasurement> {
  const count = Math.max(1, Math.round(options.rate * options.seconds));
  const consumer = cli.start(['--config', world.configPath, 'consume', '--group', options.group, '--json']);
  const exitedEarly = consumer.result.then((result) => {
    throw new Error(`consume exited before the latency run ended (${result.code ?? result.signal}):\n${result.stderr.trim()}`);
  });
  exitedEarly.catch(() => undefined);

  let buyPeakRss: number | null = null;
  let consumePeakRss: number | null = null;
  const seenAt = new Map<string, number>();
  let rounds = 0;
  let roundTime = 0;
  let lookups = 0;
  try {
    await Promise.race([waitForStableGroup(admin, options.group), exitedEarly]);

    // The same purchases buy will make (same seed, same catalog), split by partition.
    const catalog = await loadCatalog(db, world.config.mongodb.db);
    // `buy --random` buys what the store has (stock-aware): the same call, in the same order.
    const runtime = createRuntime(SEED);
    const store = world.config.inventory.defaultStore;
    const start = await stockAtStart(db, runtime, catalog, { store });
    const events = [...stockAwarePurchaseEvents(runtime, catalog, start, { count, store, chunk: chunkForRate(options.rate) })].flat();
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [world.config.kafka.topics.inventory] })).topics;
    const partitions = byPartition(events.map((event) => encodeEvent(event)), metadata?.partitions.length ?? world.config.kafka.partitions).map(
      (indexes) => indexes.map((index) => events[index]!.id),
    );
    const heads = partitions.map(() => 0);

    const purchases = db.collection<PurchaseDoc>('purchases');
    const visible = async (id: string): Promise<boolean> => {
      lookups += 1;
      return (await purchases.findOne({ _id: id }, { projection: { _id: 1 } })) !== null;
    };
    // The first index of `ids` from `from` on that is not visible yet (ids.length when all are).
    const frontier = async (ids: readonly string[], from: number): Promise<number> => {
      if (!(await visible(ids[from]!))) return from;
      let low = from; // visible
      let step = 1;
      let high = ids.length; // not visible (or past the end)
      while (low + step < ids.length) {
        if (!(await visible(ids[low + step]!))) {
          high = low + step;
          break;
        }
        low += step;
        step *= 2;
      }
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (await visible(ids[middle]!)) low = middle;
        else high = middle;
      }
      return high;
    };

    let done = false;
    let deadline = Number.POSITIVE_INFINITY; // set once buy has finished
    const poller = (async () => {
      while (!done && Date.now() < deadline) {
        const started = Date.now();
        for (const [p, ids] of partitions.entries()) {
          const head = heads[p]!;
          if (head >= ids.length) continue;
          const next = await frontier(ids, head);
          const at = Date.now();
          for (let i = head; i < next; i += 1) seenAt.set(ids[i]!, at);
          heads[p] = next;
        }
        rounds += 1;
        roundTime += Date.now() - started;
        if (partitions.every((ids, p) => heads[p]! >= ids.length)) return;
        await sleep(Math.max(0, options.pollMs - (Date.now() - started)));
      }
    })();

    try {
      const buy = await cli.run([
        '--config', world.configPath, 'buy', '--random', '--count', String(count), '--rate', String(options.rate),
        '--via', 'kafka', '--seed', String(SEED), '--json',
      ]);
      buyPeakRss = buy.peakRss;
      deadline = Date.now() + 30_000; // a purchase not visible 30 s after the last was sent counts as not observed
      await Promise.race([poller, exitedEarly]);
    } finally {
      done = true;
      await poller;
    }
  } finally {
    consumer.kill('SIGTERM');
    consumePeakRss = (await consumer.result).peakRss;
  }

  const produced = new Map(
    (await db.collection<PurchaseDoc>('purchases').find({}, { projection: { time: 1 } }).toArray()).map((doc) => [doc._id, Date.parse(doc.time)]),
  );
  const latencies: number[] = [];
  for (const [id, at] of seenAt) {
    const time = produced.get(id);
    if (time !== undefined) latencies.push(at - time);
  }
  latencies.sort((a, b) => a - b);
  return {
    rate: options.rate,
    events: count,
    observed: latencies.length,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? null,
    pollEveryMs: options.pollMs,
    roundTookMs: rounds > 0 ? Math.round((roundTime / rounds) * 10) / 10 : 0,
    lookupsPerRound: rounds > 0 ? Math.round((lookups / rounds) * 10) / 10 : 0,
    consumePeakRss,
    buyPeakRss,
  };
}

async function waitForStableGroup(admin: Admin, groupId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (group?.state === 'Stable' && group.members.length > 0) return;
    await sleep(100);
  }
  throw new Error(`consumer group ${groupId} did not become stable within ${timeoutMs / 1000}s`);
}
