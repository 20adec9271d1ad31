import type { Message } from 'kafkajs';
import type { Db } from 'mongodb';
import type { Config } from '../../src/config/schema.js';
import type { ProjectionTarget } from '../../src/db/projection-store.js';
import type { ShopEvent } from '../../src/domain/events.js';
import { createKafka } from '../../src/kafka/client.js';
import { connectPublisher } from '../../src/kafka/publisher.js';
import { startProjector, type ProjectorTotals } from '../../src/kafka/projector-consumer.js';
import { projectionOn } from '../../src/services/projection.js';
import { randomPurchaseEvents } from '../../src/services/buy.js';
import { englishLocale } from '../../src/domain/generators.js';
import { customerEvents, productEvents } from '../../src/services/make.js';
import { createRuntime } from '../../src/services/runtime.js';
import { testKafka } from './env.js';

/** A fixed clock: every run of a scenario produces byte-identical events. */
export const fixedClock = (): (() => Date) => {
  let tick = Date.parse('2026-01-01T00:00:00Z');
  return () => new Date((tick += 1000));
};

export interface Scenario {
  customers: ShopEvent[];
  products: ShopEvent[];
  purchases: ShopEvent[];
}

/** Seeded customers, products and purchases among them, with a fixed clock. */
export function scenario(seed: number, sizes = { customers: 20, products: 10, purchases: 300 }): Scenario {
  const runtime = createRuntime(seed, fixedClock());
  const customers = [...customerEvents(runtime, sizes.customers, englishLocale)].flat();
  // Each product with goods received at 'online', plenty for the purchases.
  const products = [...productEvents(runtime, sizes.products, 'EUR', { store: 'online', quantity: 100_000 })].flat();
  const catalog = {
    customers: customers.map((event) => (event.data as { customerId: string }).customerId).sort(),
    products: products
      .filter((event) => event.type === 'shop.product.added.v1')
      .map((event) => {
        const data = event.data as { sku: string; price: { amount: number; currency: string } };
        return { sku: data.sku, price: data.price };
      }),
  };
  const purchases = [...randomPurchaseEvents(runtime, catalog, { count: sizes.purchases, store: 'online', chunk: 500 })].flat();
  return { customers, products, purchases };
}

export async function publishAll(config: Config, events: readonly ShopEvent[]): Promise<void> {
  const publisher = await connectPublisher(createKafka(config), config);
  try {
    await publisher.publish(events);
  } finally {
    await publisher.disconnect();
  }
}

/** Bytes that are no event at all, as a broken producer would send them. */
export const garbageMessage: Message = { key: 'online:SKU-X', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]), headers: { origin: 'fuzz' } };

/**
 * Sends messages as they are (malformed ones included), bypassing shopctl's publisher. Idempotent,
 * as the publisher is: a send retried on a just-started broker (a request that timed out but was
 * written) must not write them twice. Most likely what made a fresh-clone CI run count 6 dead
 * letters for the errors test's 4 messages: 4 + its two id-less ones again, at other offsets (the
 * two with ids are counted once whatever comes twice).
 */
export async function sendRaw(config: Config, topic: string, messages: Message[]): Promise<void> {
  const producer = testKafka(config).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

export async function projectUntilIdle(
  config: Config,
  target: ProjectionTarget,
  options: { groupId?: string; fromBeginning?: boolean; idleMs?: number } = {},
): Promise<ProjectorTotals> {
  const projection = projectionOn(target);
  const projector = await startProjector({
    kafka: createKafka(config),
    apply: (inputs, applyOptions) => projection.apply(inputs, applyOptions),
    config,
    groupId: options.groupId ?? config.kafka.groupId,
    fromBeginning: options.fromBeginning ?? false,
    untilIdleMs: options.idleMs ?? 1500,
  });
  return projector.done;
}

const bookkeeping = new Set(['_intent', '_at', 'intent']);

/**
 * Every projected collection, sorted by _id. Dropped, because they are by nature different
 * between the write paths: `_intent` / `intent` (the id of the write that last changed a document
 * or journaled an entry, random; `_rev`, the count of events applied, is compared), the
 * journal's `pos` (where an event was applied from; null on the db path), `applied` (the writer's
 * wall clock) and its `stock.level` (the level right after
 * each event, which depends on the order a retried purchase was applied in relative to its
 * neighbours; the final levels, in the stock collection, are compared).
 */
// Where entries of the journal are: the journal, and purchases (each its own entry).
const journals = new Set(['events', 'purchases']);

export async function dump(db: Db): Promise<Record<string, unknown[]>> {
  const result: Record<string, unknown[]> = {};
  for (const name of ['customers', 'products', 'stock', 'purchases', 'events']) {
    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    result[name] = docs.map((doc) => {
      const kept = Object.fromEntries(
        Object.entries(doc).filter(([key]) => !bookkeeping.has(key) && !(journals.has(name) && (key === 'pos' || key === 'applied'))),
      );
      if (journals.has(name) && kept.stock) kept.stock = { ...(kept.stock as object), level: undefined };
      return kept;
    });
  }
  return result;
}
