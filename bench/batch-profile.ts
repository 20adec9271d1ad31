import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient, type Collection, type Db } from 'mongodb';
import { loadConfig } from '../src/config/load.js';
import { serverTraits } from '../src/db/client.js';
import { positionKey } from '../src/kafka/codec.js';
import { loadCatalog, randomPurchaseEvents } from '../src/services/buy.js';
import { customerEvents, productEvents } from '../src/services/make.js';
import { projectionOn } from '../src/services/projection.js';
import { createRuntime } from '../src/services/runtime.js';
import { englishLocale } from '../src/domain/generators.js';
import { byPartition, encodePool } from './workload.js';
import type { PurchaseMade } from '../src/domain/events.js';

// Where one projection batch's time goes, call by call: `npx tsx bench/batch-profile.ts`.
// The projection service runs against the stack's MongoDB (a database of its own, dropped at
// the end) through a Db whose collections time every call. For each batch size (purchases of one
// partition, as the consumer hands them over) it prints the round trips of one batch and the
// milliseconds each kind of call took (median of the batches). What produce-to-visible latency
// is made of on the database side.

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,17,50,170,1000' },
    batches: { type: 'string', default: '12' },
    catalog: { type: 'string', default: '100' },
  },
});
const sizes = (values.sizes ?? '').split(',').map(Number);
const batchesPerSize = Number(values.batches);
const catalogSize = Number(values.catalog);

type Timings = Map<string, number[]>;
let current: Timings | null = null;

function timed(db: Db): Db {
  const wrap = (name: string, collection: Collection): Collection =>
    new Proxy(collection, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          // find() returns a cursor: time its toArray.
          if (result && typeof result === 'object' && 'toArray' in result && !(result instanceof Promise)) {
            const cursor = result as { toArray: () => Promise<unknown> };
            return new Proxy(cursor, {
              get(c, p, r) {
                if (p !== 'toArray') return Reflect.get(c, p, r) as unknown;
                return () => time(`${name}.${property}`, cursor.toArray());
              },
            });
          }
          return result instanceof Promise ? time(`${name}.${property}`, result) : result;
        };
      },
    });
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'collection') return (name: string) => wrap(name, target.collection(name));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

async function time<T>(kind: string, promise: Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await promise;
  } finally {
    if (current) {
      const list = current.get(kind) ?? [];
      list.push(performance.now() - started);
      current.set(kind, list);
    }
  }
}

const median = (list: readonly number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

async function main(): Promise<void> {
  const { config } = await loadConfig({ cwd: path.resolve(import.meta.dirname, '..') });
  const mongo = new MongoClient(config.mongodb.uri);
  await mongo.connect();
  const name = `bench_profile_${randomBytes(3).toString('hex')}`;
  const raw = mongo.db(name);
  try {
    const server = await serverTraits(mongo.db('admin'));
    const projection = projectionOn({ db: timed(raw), server });
    const runtime = createRuntime(1);
    const store = config.inventory.defaultStore;
    const setup = [
      ...customerEvents(runtime, 1000, englishLocale),
      ...productEvents(createRuntime(2), catalogSize, config.generate.currency, { store, quantity: 1_000_000 }),
    ];
    let offset = 0;
    for (const chunk of setup) {
      for (let start = 0; start < chunk.length; start += 1000) {
        await projection.apply(chunk.slice(start, start + 1000).map((event) => ({ event, position: { key: 'setup', offset: offset++ } })));
      }
    }
    const catalog = await loadCatalog(raw, name);
    const total = sizes.reduce((sum, size) => sum + size * batchesPerSize * 3, 0);
    const events = [...randomPurchaseEvents(createRuntime(3), catalog, { count: total, store, chunk: 1000 })].flat() as PurchaseMade[];
    const partitions = byPartition(encodePool(events), 3);
    const heads = partitions.map(() => 0);
    console.log(`${server.kind} ${server.version}, ${catalogSize} products; median of ${batchesPerSize} batches per size\n`);
    for (const size of sizes) {
      const perBatch: Timings[] = [];
      const totals: number[] = [];
      for (let b = 0; b < batchesPerSize; b += 1) {
        const p = b % partitions.length;
        const indexes = partitions[p]!.slice(heads[p], heads[p]! + size);
        heads[p]! += size;
        const key = positionKey('profile', p);
        const inputs = indexes.map((index, i) => ({ event: events[index]!, position: { key, offset: heads[p]! - size + i } }));
        current = new Map();
        const started = performance.now();
        await projection.apply(inputs, { holder: `profile:${key}` });
        totals.push(performance.now() - started);
        perBatch.push(current);
        current = null;
      }
      const kinds = [...new Set(perBatch.flatMap((t) => [...t.keys()]))];
      const rows = kinds
        .map((kind) => {
          const calls = median(perBatch.map((t) => t.get(kind)?.length ?? 0));
          const ms = median(perBatch.map((t) => (t.get(kind) ?? []).reduce((a, c) => a + c, 0)));
          return { kind, calls, ms };
        })
        .sort((a, c) => c.ms - a.ms);
      const calls = rows.reduce((sum, r) => sum + r.calls, 0);
      console.log(`batch of ${size}: ${median(totals).toFixed(1)} ms (median), ${calls} calls`);
      for (const r of rows) console.log(`  ${r.kind.padEnd(28)} ${String(r.calls).padStart(3)} x  ${r.ms.toFixed(1).padStart(7)} ms`);
    }
  } finally {
    await raw.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}

await main();
