import type { Db } from 'mongodb';
import { catalogue, pinnedStart, purchaseReferences, stockAtStore } from '../db/catalog-store.js';
import { createEvent, envelopeOf, type ShopEvent } from '../domain/events.js';
import {
  createFaker,
  DEFAULT_QUANTITY,
  generatePurchase,
  stockAwareShopper,
  type CatalogEntry,
  type QuantityRange,
} from '../domain/generators.js';
import { UsageError, ShopctlError } from '../errors.js';
import { context } from './make.js';
import { purchasesInThread } from './purchase-thread.js';
import { chunkForRate } from './pump.js';
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

/** Where a stock-aware run starts: the store's stock (plain data: it goes to the generator thread as it is). */
export interface StockStart {
  /** Units per SKU at the store when the run started (a seeded run: when it first ran). */
  levels: Array<[string, number]>;
  /** A seeded run that had started before (after a crash, or run again): the same start, the same purchases. */
  again: boolean;
}

const quantityOf = (quantity: QuantityRange) => ({ minQuantity: quantity.min, maxQuantity: quantity.max });

/**
 * The ids of a stock-aware run. Seeded, they depend on the catalogue, store and quantities as
 * those of any random run, and on the stock the run starts from (its digest): a stock-aware
 * run's purchases are drawn from that stock, so the same ids never carry other purchases.
 */
function stockAwareIds(runtime: Runtime, catalog: Catalog, store: string, quantity: QuantityRange, start: StockStart): () => string {
  if (!runtime.seeded) return runtime.ids('buy --random');
  const stock = digestOf(start.levels.map(([sku, level]) => `${sku} ${level}`));
  return runtime.ids('buy --random', { store, ...quantityOf(quantity), catalog: catalogDigest(catalog), stock });
}

/**
 * The stock a stock-aware run starts from. Unseeded: the levels now. Seeded, a run must make the
 * same purchases whenever it is run again (after a crash, or to complete what a consumer has not
 * projected yet), although its own purchases (and anyone else's, and goods received) have since
 * changed the levels: the stock it first started from is recorded in MongoDB under the run's key
 * (seed, catalogue, store, quantities) and used by every later run of the same command. The
 * same seeded command is then the same purchases, as a seeded `make` is the same customers.
 */
export async function stockAtStart(db: Db, runtime: Runtime, catalog: Catalog, run: { store: string; quantity?: QuantityRange | undefined }): Promise<StockStart> {
  const known = new Set(catalog.products.map((product) => product.sku));
  const read = async () => (await stockAtStore(db, run.store)).filter((doc) => known.has(doc.sku));
  if (!runtime.seeded) return { levels: (await read()).map((doc) => [doc.sku, doc.level]), again: false };
  const key = runtime.ids('buy --random start', { store: run.store, ...quantityOf(run.quantity ?? DEFAULT_QUANTITY), catalog: catalogDigest(catalog) })();
  const minimum = (run.quantity ?? DEFAULT_QUANTITY).min;
  const { levels, again } = await pinnedStart(db, key, read, (found) => found.some((doc) => doc.level >= minimum));
  return { levels: levels.map((doc) => [doc.sku, doc.level]), again };
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
  const ids = stockAwareIds(runtime, catalog, options.store, quantity, start);
  let position = 0;
  while (position < options.count) {
    const events: ShopEvent[] = [];
    const end = Math.min(options.count, position + options.chunk);
    for (; position < end; position += 1) {
      const data = shopper.next();
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

/**
 * A `buy --random` run, ready to write: the catalogue, and (unless `includeOutOfStock`) the stock
 * it starts from, in chunks paced for `rate`. A store with nothing to buy is a usage error.
 * `report` is filled in as the purchases are made.
 */
export async function randomRun(
  db: Db,
  dbName: string,
  runtime: Runtime,
  run: { count: number; store: string; quantity?: QuantityRange | undefined; includeOutOfStock: boolean; via: 'db' | 'kafka'; rate?: number | undefined },
): Promise<{ chunks: Iterable<Chunk> | AsyncIterable<Chunk>; report: RunReport; stockAware: boolean }> {
  const { count, store, quantity } = run;
  const catalog = await loadCatalog(db, dbName);
  const stock = run.includeOutOfStock ? null : await stockAtStart(db, runtime, catalog, { store, quantity });
  if (stock && buyableUnits(stock, quantity) === 0) {
    throw new UsageError(`Nothing to buy at store '${store}': none of the ${catalog.products.length} products has ${quantity && quantity.min > 1 ? `${quantity.min} units` : 'any stock'} there`, {
      suggestion: `Receive goods first (\`shopctl stock receive --store ${store} --sku SKU --quantity N\`), or add --include-out-of-stock to make purchases the store will refuse.`,
    });
  }
  const report: RunReport = { made: 0, ranOut: false };
  const chunks = randomPurchaseChunks(runtime, catalog, { count, store, chunk: chunkForRate(run.rate), via: run.via, rate: run.rate, quantity, stock }, report);
  return { chunks, report, stockAware: stock !== null };
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
