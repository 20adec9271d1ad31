import type { Db } from 'mongodb';
import { appliedPurchases, catalogue, IDS_PER_QUERY, purchaseReferences, stockAtStore } from '../db/catalog-store.js';
import { createEvent, envelopeOf, type ShopEvent } from '../domain/events.js';
import {
  createFaker,
  DEFAULT_QUANTITY,
  generatePurchase,
  stockAwareShopper,
  type CatalogEntry,
  type PurchaseData,
  type QuantityRange,
} from '../domain/generators.js';
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
  /** Quantities asked for (`--quantity`); undefined: DEFAULT_QUANTITY. */
  quantity?: QuantityRange | undefined;
  /** Buy what the store has, from this stock (see stockAtStart); null: any product (`--include-out-of-stock`). */
  stock: StockStart | null;
}

/** How a random run ended: purchases made, and whether it stopped early because the store ran out. */
export interface RunReport {
  made: number;
  ranOut: boolean;
}

/**
 * The chunks of a random purchase run. A large unpaced run to Kafka makes its purchases on a
 * second thread (the same ones); on the db path MongoDB is the bottleneck, and a paced run has
 * time to spare. `report` is filled in as purchases are made (by the end: all of them).
 */
export function randomPurchaseChunks(
  runtime: Runtime,
  catalog: Catalog,
  run: RandomPurchases,
  report: RunReport = { made: 0, ranOut: false },
): Iterable<Chunk> | AsyncIterable<Chunk> {
  const generation = { count: run.count, store: run.store, chunk: run.chunk, ...(run.quantity ? { quantity: run.quantity } : {}) };
  const threaded = run.via === 'kafka' && run.rate === undefined && run.count >= THREAD_MIN_COUNT;
  if (threaded) return purchasesInThread({ seed: runtime.seeded ? runtime.seed : null, catalog, options: generation, stock: run.stock, ahead: 4, report });
  return run.stock ? stockAwarePurchaseEvents(runtime, catalog, run.stock, generation, report) : counted(randomPurchaseEvents(runtime, catalog, generation), report);
}

function* counted(chunks: Iterable<ShopEvent[]>, report: RunReport): Generator<ShopEvent[]> {
  for (const chunk of chunks) {
    report.made += chunk.length;
    yield chunk;
  }
}

export interface GenerationOptions {
  count: number;
  store: string;
  chunk: number;
  quantity?: QuantityRange;
  /** Quantities 1 to this (older callers; `quantity` says both ends). */
  maxQuantity?: number;
}

/** Purchases of any product, in stock or not (`buy --random --include-out-of-stock`). */
export function* randomPurchaseEvents(runtime: Runtime, catalog: Catalog, options: GenerationOptions): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed);
  const quantity = options.quantity ?? { min: DEFAULT_QUANTITY.min, max: options.maxQuantity ?? DEFAULT_QUANTITY.max };
  const choices = { ...catalog, store: options.store, quantity };
  // What the purchases are drawn from is part of their ids: the same seed over another catalogue
  // (or store, or quantity range) makes other purchases. The count and chunking are not: a longer
  // run repeats a shorter one's purchases first, with their ids. The default range keeps the ids
  // it always had (maxQuantity null).
  const ids = runtime.seeded
    ? runtime.ids('buy --random', { store: options.store, ...quantityIdOptions(options), catalog: catalogDigest(catalog) })
    : runtime.ids('buy --random');
  for (let made = 0; made < options.count; made += options.chunk) {
    const events: ShopEvent[] = [];
    for (let i = made; i < Math.min(options.count, made + options.chunk); i += 1) {
      events.push(envelopeOf('shop.purchase.made.v1', generatePurchase(faker, choices), context(runtime, ids())));
    }
    yield events;
  }
}

function quantityIdOptions(options: Pick<GenerationOptions, 'quantity' | 'maxQuantity'>): { maxQuantity: number | null; minQuantity?: number } {
  if (options.maxQuantity !== undefined) return { maxQuantity: options.maxQuantity };
  const { quantity } = options;
  if (!quantity || (quantity.min === DEFAULT_QUANTITY.min && quantity.max === DEFAULT_QUANTITY.max)) return { maxQuantity: null };
  return { maxQuantity: quantity.max, ...(quantity.min === 1 ? {} : { minQuantity: quantity.min }) };
}

// ---------------------------------------------------------------------------------------------
// Stock-aware runs (the default of `buy --random`)

/**
 * Where a stock-aware run starts: the store's stock when it started, and (seeded) the purchases it
 * made before, by position. Plain data: it goes to the generator thread as it is.
 */
export interface StockStart {
  /** Units per SKU at the store when the run started (reconstructed: see stockAtStart). */
  levels: Array<[string, number]>;
  /** Purchases of this seeded run found applied, by position: made again exactly as they were. */
  again: Array<[number, PurchaseData]>;
  /** Digest of the store's supply per SKU (level + units purchases took): part of seeded ids. */
  supply: string;
  /** Units purchases of this run took already (for the report). */
  units: number;
}

/**
 * The ids of a stock-aware run. Seeded, they depend on the catalogue, store and quantities as
 * those of any random run, and on the store's SUPPLY: per SKU, its level plus the units that
 * purchases took there. Purchases never change a supply (each moves units from level to sold),
 * so a run's ids are known before it is known which of them were applied; whatever else changes
 * a stock (goods received, store sales, counts) changes the supply, and so the ids.
 */
function stockAwareIds(runtime: Runtime, catalog: Catalog, store: string, quantity: QuantityRange, supply: string): () => string {
  if (!runtime.seeded) return runtime.ids('buy --random');
  return runtime.ids('buy --random', { store, minQuantity: quantity.min, maxQuantity: quantity.max, catalog: catalogDigest(catalog), supply, stock: 'aware' });
}

/**
 * The stock a stock-aware run starts from, read once from MongoDB. Unseeded: the levels now.
 * Seeded, a run must make the same purchases when it is run again (after a crash, or to complete
 * what a consumer has not projected yet), although its own purchases have since lowered the
 * levels: its start is reconstructed as the levels now plus the units its own purchases took.
 * Those are found by id (computable up front: see stockAwareIds), in groups of IDS_PER_QUERY,
 * until a group has none applied (the db path applies chunks in order; on the Kafka path each
 * partition in order). A purchase journaled by a write intent still in flight counts only if its
 * stock document was already written by that intent.
 */
export async function stockAtStart(db: Db, runtime: Runtime, catalog: Catalog, run: { store: string; count: number; quantity?: QuantityRange | undefined }): Promise<StockStart> {
  const { levels, pending } = await stockAtStore(db, run.store);
  const bySku = new Map(levels.map((doc) => [doc.sku, doc]));
  const known = new Set(catalog.products.map((product) => product.sku));
  const supply = digestOf(
    [...bySku.values()]
      .filter((doc) => known.has(doc.sku))
      .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
      .map((doc) => `${doc.sku} ${doc.level + doc.sold}`),
  );
  const start = new Map(levels.filter((doc) => known.has(doc.sku)).map((doc) => [doc.sku, doc.level]));
  const again: Array<[number, PurchaseData]> = [];
  let units = 0;
  if (runtime.seeded) {
    const ids = stockAwareIds(runtime, catalog, run.store, run.quantity ?? DEFAULT_QUANTITY, supply);
    for (let from = 0; from < run.count; from += IDS_PER_QUERY) {
      const group = Array.from({ length: Math.min(IDS_PER_QUERY, run.count - from) }, ids);
      const found = await appliedPurchases(db, group);
      if (found.length === 0) break;
      const position = new Map(group.map((id, index) => [id, from + index]));
      for (const purchase of found) {
        const at = position.get(purchase._id);
        if (at === undefined || purchase.store !== run.store) continue;
        again.push([at, { customerId: purchase.customerId, sku: purchase.sku, store: purchase.store, quantity: purchase.quantity, unitPrice: purchase.unitPrice }]);
        const inFlight = purchase.intent !== undefined && pending.has(purchase.intent);
        if (inFlight && bySku.get(purchase.sku)?.intent !== purchase.intent) continue; // not in the level yet
        start.set(purchase.sku, (start.get(purchase.sku) ?? 0) + purchase.quantity);
        units += purchase.quantity;
      }
    }
  }
  again.sort(([a], [b]) => a - b);
  return { levels: [...start], again, supply, units };
}

/** The units of a stock that `quantity` can still be bought from (levels of at least its minimum). */
export function buyableUnits(start: Pick<StockStart, 'levels'>, quantity: QuantityRange = DEFAULT_QUANTITY): number {
  return start.levels.reduce((sum, [, level]) => sum + (level >= quantity.min ? level : 0), 0);
}

/** Random purchases of what the store has (see stockAwareShopper): stops early when it runs out. */
export function* stockAwarePurchaseEvents(
  runtime: Runtime,
  catalog: Catalog,
  start: StockStart,
  options: { count: number; store: string; chunk: number; quantity?: QuantityRange },
  report: RunReport = { made: 0, ranOut: false },
): Generator<ShopEvent[]> {
  const quantity = options.quantity ?? DEFAULT_QUANTITY;
  const shopper = stockAwareShopper(createFaker(runtime.seed), { ...catalog, store: options.store, quantity, stock: start.levels });
  const ids = stockAwareIds(runtime, catalog, options.store, quantity, start.supply);
  const again = new Map(start.again);
  let position = 0;
  while (position < options.count) {
    const events: ShopEvent[] = [];
    const end = Math.min(options.count, position + options.chunk);
    for (; position < end; position += 1) {
      const data = shopper.next(again.get(position));
      if (!data) {
        report.ranOut = true;
        break;
      }
      events.push(envelopeOf('shop.purchase.made.v1', data, context(runtime, ids())));
    }
    report.made += events.length;
    if (events.length > 0) yield events;
    if (report.ranOut) return;
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
