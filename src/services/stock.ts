import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { isLowStock } from '../domain/stock-level.js';
import { findStockLevels, productsAdded, stockChangesOf } from '../db/stock-store.js';
import { findStores } from '../db/store-store.js';
import { availableToPromise, freshnessOf, marginUnits, type FreshnessState } from '../domain/availability.js';
import { rulesOf } from './projection-settings.js';
import type { LevelRow } from '../domain/alerts.js';
import type { JournalEntry, StockDoc } from '../domain/documents.js';
import type { Context } from './context.js';

/** A row of `list stock`: a level, its threshold, and whether it is low (domain/stock-level). */
export interface StockLevelRow extends LevelRow {
  low: boolean;
  updatedAt: string;
  /** Whether the SKU is a product of the catalogue (stock can be recorded for one that is not). */
  inCatalogue: boolean;
}

export function thresholdOf(config: Config, sku: string): number {
  const { thresholds } = config.inventory;
  // Own keys only: a SKU may be any text, `constructor` included.
  return (Object.hasOwn(thresholds, sku) ? thresholds[sku] : undefined) ?? config.inventory.lowStockThreshold;
}

export function toStockLevelRow(config: Config, doc: StockDoc, catalogued = true): StockLevelRow {
  const threshold = thresholdOf(config, doc.sku);
  return { store: doc.store, sku: doc.sku, level: doc.level, threshold, low: isLowStock(doc.level, threshold), updatedAt: doc.updatedAt, inCatalogue: catalogued };
}

/** Whether `sku` is a product of the catalogue (as projected into MongoDB). */
export async function inCatalogue(db: Db, sku: string): Promise<boolean> {
  return (await productsAdded(db, sku)).length > 0;
}

/**
 * What `list stock` says when nothing matches: a SKU that is not in the catalogue and has no
 * stock is "no SKU X"; one that is, "no stock for SKU X" (at that store).
 */
export async function noStockMessage(db: Db, filter: StockFilter): Promise<string> {
  const at = filter.store ? ` at store ${filter.store}` : '';
  if (filter.sku !== undefined) {
    if (!(await inCatalogue(db, filter.sku)) && (await findStockLevels(db, { sku: filter.sku })).length === 0) return `no SKU ${filter.sku}`;
    return `no stock for SKU ${filter.sku}${at}`;
  }
  return filter.store ? `no stock${at}` : 'no stock recorded yet';
}

export interface StockFilter {
  store?: string | undefined;
  sku?: string | undefined;
  low?: boolean | undefined;
}

// Current levels, from the stock documents (not from history): a SKU that was low once and was
// restocked is not low now. A product that never received goods at the default store is listed
// there at level 0 (it has no stock document): out of stock is what it is.
export async function currentStock(db: Db, config: Config, filter: StockFilter = {}): Promise<StockLevelRow[]> {
  const [docs, products] = await Promise.all([findStockLevels(db, filter), productsAdded(db, filter.sku)]);
  return stockRows(config, docs, products, filter);
}

function stockRows(config: Config, docs: readonly StockDoc[], products: ReadonlyArray<{ _id: string; addedAt: string }>, filter: StockFilter): StockLevelRow[] {
  const store = config.inventory.defaultStore;
  const wantsDefaultStore = !filter.store || filter.store === store;
  const catalogue = new Set(products.map((product) => product._id));
  const rows = docs.map((doc) => toStockLevelRow(config, doc, catalogue.has(doc.sku)));
  const stocked = new Set(docs.filter((doc) => doc.store === store).map((doc) => doc.sku));
  for (const product of wantsDefaultStore ? products : []) {
    if (stocked.has(product._id)) continue;
    const threshold = thresholdOf(config, product._id);
    rows.push({ store, sku: product._id, level: 0, threshold, low: isLowStock(0, threshold), updatedAt: product.addedAt, inCatalogue: true });
  }
  rows.sort((a, b) => (a.store === b.store ? (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0) : a.store < b.store ? -1 : 1));
  return filter.low ? rows.filter((row) => row.low) : rows;
}

/** A row of `list stock`: its level, what open reservations hold, and what the store may still promise. */
export interface AvailableRow extends StockLevelRow {
  /** Units held by open reservations. */
  pending: number;
  /** Units the store's safety margin keeps back at this level. */
  margin: number;
  /** on hand - pending - margin, never below 0 (domain/availability availableToPromise). */
  available: number;
  /** Whether the store heartbeats within the SLA: from a stale store, `available` may not be. */
  freshness: FreshnessState;
  lastHeartbeat: string | null;
  /** Whether the store has a stock document for it (not a catalogued product listed at level 0). */
  stocked: boolean;
}

/** A row of `list stock --global`: one SKU summed over its stores. */
export interface GlobalStockRow {
  sku: string;
  onHand: number;
  pending: number;
  /** The sum of each store's available-to-promise (each with its own margin). */
  available: number;
  /** Of `available`, the units at stale stores: they may not be available. */
  availableAtStaleStores: number;
  stores: number;
  staleStores: number;
  inCatalogue: boolean;
}

/**
 * `list stock` with availability: each row's holds, safety margin, available-to-promise and
 * the freshness of its store (its heartbeat against `availability.staleAfterSeconds`, now).
 */
export async function availableStock(db: Db, config: Config, filter: StockFilter = {}, now = new Date()): Promise<AvailableRow[]> {
  const rules = rulesOf(config);
  const [docs, products, heard] = await Promise.all([findStockLevels(db, filter), productsAdded(db, filter.sku), findStores(db)]);
  const rows = stockRows(config, docs, products, filter);
  const pendingOf = new Map(docs.map((doc) => [`${doc.store}\u0000${doc.sku}`, doc.pending ?? 0]));
  const heartbeatOf = new Map(heard.map((store) => [store._id, store.lastHeartbeat]));
  return rows.map((row) => {
    const key = `${row.store}\u0000${row.sku}`;
    const pending = pendingOf.get(key) ?? 0;
    const margin = rules.marginFor(row.store);
    const lastHeartbeat = heartbeatOf.get(row.store) ?? null;
    return {
      ...row,
      pending,
      margin: marginUnits(margin, row.level),
      available: availableToPromise(row.level, pending, margin),
      freshness: freshnessOf(lastHeartbeat, now, rules.staleAfterMs).state,
      lastHeartbeat,
      stocked: pendingOf.has(key),
    };
  });
}

/** `list stock --global`: the rows of `availableStock` summed per SKU (sorted by SKU). */
export async function globalStock(db: Db, config: Config, filter: Pick<StockFilter, 'sku'> = {}, now = new Date()): Promise<GlobalStockRow[]> {
  const bySku = new Map<string, GlobalStockRow>();
  for (const row of await availableStock(db, config, filter.sku === undefined ? {} : { sku: filter.sku }, now)) {
    const sum = bySku.get(row.sku) ?? { sku: row.sku, onHand: 0, pending: 0, available: 0, availableAtStaleStores: 0, stores: 0, staleStores: 0, inCatalogue: row.inCatalogue };
    sum.onHand += row.level;
    sum.pending += row.pending;
    sum.available += row.available;
    if (!row.stocked) {
      bySku.set(row.sku, sum);
      continue;
    }
    sum.stores += 1;
    if (row.freshness === 'stale') {
      sum.staleStores += 1;
      sum.availableAtStaleStores += row.available;
    }
    bySku.set(row.sku, sum);
  }
  return [...bySku.values()].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

export interface HistoryRow {
  time: string;
  event: string;
  type: string;
  store: string;
  sku: string;
  /** The change in units (+received, -sold or bought); null for a count, which sets the level. */
  change: number | null;
  level: number;
}

const typeNames: Record<string, string> = {
  'shop.stock.received.v1': 'incoming',
  'shop.stock.sold.v1': 'sale',
  'shop.stock.counted.v1': 'count',
  'shop.purchase.made.v1': 'purchase',
  'shop.reservation.fulfilled.v1': 'fulfilment',
};

/**
 * Every applied change of one SKU (at one store, or all), from the journal, in event time order
 * (ties in the order applied). A retried sale applied after goods that came later is shown at its
 * own time; its level is the one it left when it was applied.
 */
export async function stockHistory(db: Db, sku: string, store?: string): Promise<HistoryRow[]> {
  const { journaled, purchases } = await stockChangesOf(db, sku, store);
  const entries: JournalEntry[] = [
    ...journaled,
    ...purchases.map((purchase) => ({
      _id: purchase._id,
      type: 'shop.purchase.made.v1',
      subject: `stock/${purchase.store}/${purchase.sku}`,
      time: purchase.time,
      pos: purchase.pos ?? null,
      ...(purchase.stock ? { stock: purchase.stock } : {}),
      ...(purchase.applied ? { applied: purchase.applied } : {}),
    })),
  ];
  return entries
    .filter((entry): entry is JournalEntry & { stock: NonNullable<JournalEntry['stock']> } => entry.stock !== undefined)
    .sort((a, b) => compare(a.time, b.time) || compare(appliedOrder(a), appliedOrder(b)) || compare(a._id, b._id))
    .map((entry) => ({
      time: entry.time,
      event: entry._id,
      type: typeNames[entry.type] ?? entry.type,
      store: entry.stock.store,
      sku: entry.stock.sku,
      change: entry.type === 'shop.stock.counted.v1' ? null : entry.stock.change,
      level: entry.stock.level,
    }));
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// Application order: a retried sale is applied after goods that arrived later than it was made.
function appliedOrder(entry: JournalEntry): string {
  return entry.applied ? `${entry.applied.at}#${String(entry.applied.n).padStart(9, '0')}` : `${entry.time}#`;
}


/** What `list stock` shows: per store and SKU, or (--global) per SKU. */
export type StockView = { kind: 'stores'; rows: AvailableRow[]; staleAfterMs: number } | { kind: 'global'; rows: GlobalStockRow[]; staleAfterMs: number };

export async function stockView(context: Context, options: StockFilter & { global?: boolean | undefined }): Promise<StockView> {
  const { db } = await context.database();
  const { staleAfterMs } = rulesOf(context.config);
  if (options.global) return { kind: 'global', rows: await globalStock(db, context.config, { sku: options.sku }), staleAfterMs };
  return { kind: 'stores', rows: await availableStock(db, context.config, options), staleAfterMs };
}
