import type { Db } from 'mongodb';
import { catalogue, purchaseReferences } from '../db/catalog-store.js';
import { createEvent, envelopeOf, type ShopEvent } from '../domain/events.js';
import { createFaker, generatePurchase, type CatalogEntry } from '../domain/generators.js';
import { UsageError, ShopctlError } from '../errors.js';
import { context } from './make.js';
import { purchasesInThread } from './purchase-thread.js';
import { digestOf, type Runtime } from './runtime.js';
import type { Chunk } from './sinks.js';

export interface Catalog {
  customers: string[];
  products: CatalogEntry[];
}

// Random purchases pick among what is already in MongoDB; sorted so a seed picks the same.
export async function loadCatalog(db: Db, dbName: string): Promise<Catalog> {
  const { customers, products } = await catalogue(db);
  const missing = [customers.length === 0 ? 'customers' : null, products.length === 0 ? 'products' : null].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`No ${missing.join(' and no ')} in database '${dbName}' to buy with`, {
      suggestion:
        'Run `shopctl make customers` and `shopctl make products` first (with --via kafka, also `shopctl consume --until-idle 5`).',
    });
  }
  return {
    customers: customers.map((customer) => customer._id),
    products: products.map((product) => ({ sku: product._id, price: product.price })),
  };
}

/** From this many purchases on, `buy --via kafka` makes them on a second thread (start-up ~0.1 s). */
export const THREAD_MIN_COUNT = 20_000;

export interface RandomPurchases {
  count: number;
  store: string;
  chunk: number;
  /** Where they go and whether they are paced: what decides on a second thread. */
  via: 'db' | 'kafka';
  rate?: number | undefined;
}

/**
 * The chunks of a random purchase run. A large unpaced run to Kafka makes its purchases on a
 * second thread (the same ones); on the db path MongoDB is the bottleneck, and a paced run has
 * time to spare.
 */
export function randomPurchaseChunks(runtime: Runtime, catalog: Catalog, run: RandomPurchases): Iterable<Chunk> | AsyncIterable<Chunk> {
  const generation = { count: run.count, store: run.store, chunk: run.chunk };
  const threaded = run.via === 'kafka' && run.rate === undefined && run.count >= THREAD_MIN_COUNT;
  return threaded ? purchasesInThread({ seed: runtime.seeded ? runtime.seed : null, catalog, options: generation, ahead: 4 }) : randomPurchaseEvents(runtime, catalog, generation);
}

export function* randomPurchaseEvents(
  runtime: Runtime,
  catalog: Catalog,
  options: { count: number; store: string; chunk: number; maxQuantity?: number },
): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed);
  const choices = { ...catalog, store: options.store, ...(options.maxQuantity ? { maxQuantity: options.maxQuantity } : {}) };
  // What the purchases are drawn from is part of their ids: the same seed over another catalogue
  // (or store, or quantity range) makes other purchases. The count and chunking are not: a longer
  // run repeats a shorter one's purchases first, with their ids.
  const ids = runtime.seeded
    ? runtime.ids('buy --random', { store: options.store, maxQuantity: options.maxQuantity ?? null, catalog: catalogDigest(catalog) })
    : runtime.ids('buy --random');
  for (let made = 0; made < options.count; made += options.chunk) {
    const events: ShopEvent[] = [];
    for (let i = made; i < Math.min(options.count, made + options.chunk); i += 1) {
      events.push(envelopeOf('shop.purchase.made.v1', generatePurchase(faker, choices), context(runtime, ids())));
    }
    yield events;
  }
}

/** A digest of the catalogue (customers and products with their prices, in catalogue order). */
export function catalogDigest(catalog: Catalog): string {
  return digestOf(
    (function* () {
      for (const customer of catalog.customers) yield `c ${customer}`;
      for (const product of catalog.products) yield `p ${product.sku} ${product.price.amount} ${product.price.currency}`;
    })(),
  );
}

export interface SinglePurchase {
  customerId: string;
  sku: string;
  quantity: number;
  store: string;
}

// One named purchase: both references are checked against MongoDB first, so a typo is refused
// with a clear message on either path instead of becoming a dead letter.
export async function singlePurchaseEvent(db: Db, runtime: Runtime, purchase: SinglePurchase): Promise<ShopEvent> {
  const { customer, product } = await purchaseReferences(db, purchase.customerId, purchase.sku);
  const problems = [
    customer ? null : `unknown customer '${purchase.customerId}'`,
    product ? null : `unknown product '${purchase.sku}'`,
  ].filter((problem): problem is string => problem !== null);
  if (problems.length > 0 || !product) {
    throw new ShopctlError(`Purchase refused: ${problems.join(' and ')}`, {
      code: 'UNKNOWN_REFERENCE',
      suggestion: 'List what exists with `shopctl list customers` and `shopctl list products`.',
    });
  }
  const data = { customerId: purchase.customerId, sku: purchase.sku, store: purchase.store, quantity: purchase.quantity, unitPrice: product.price };
  // Seeded, the id is that of this very purchase: the same command again is the same purchase.
  const id = runtime.ids('buy', { ...data, unitPrice: `${product.price.amount} ${product.price.currency}` })();
  return createEvent('shop.purchase.made.v1', data, context(runtime, id));
}
