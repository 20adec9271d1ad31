import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { isLowStock } from '../domain/stock-level.js';
import { findStockLevels, productsAdded, stockChangesOf } from '../db/stock-store.js';
import type { LevelRow } from '../domain/alerts.js';
import type { JournalEntry, StockDoc } from '../domain/documents.js';

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
  const store = config.inventory.defaultStore;
  const wantsDefaultStore = !filter.store || filter.store === store;
  const [docs, products] = await Promise.all([findStockLevels(db, filter), productsAdded(db, filter.sku)]);
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

