import type { Db } from 'mongodb';
import type { JournalEntry, PurchaseDoc, StockDoc } from '../domain/documents.js';
import { journalOf, productsOf, purchasesOf, stockOf } from './collections.js';

// The queries behind `list stock`, `history` and `report top-sellers` (services/stock.ts decides
// what to make of them).

/** Stock documents, optionally of one store and/or one SKU. */
export async function findStockLevels(db: Db, filter: { store?: string | undefined; sku?: string | undefined }): Promise<StockDoc[]> {
  const query: Record<string, string> = {};
  if (filter.store) query.store = filter.store;
  if (filter.sku) query.sku = filter.sku;
  return stockOf(db).find(query).toArray();
}

/** Every product's id and when it was added (or only that of `sku`). */
export async function productsAdded(db: Db, sku?: string): Promise<Array<{ _id: string; addedAt: string }>> {
  return productsOf(db)
    .find(sku ? { _id: sku } : {}, { projection: { _id: 1, addedAt: 1 } })
    .toArray();
}

/**
 * What was applied to one SKU (at one store, or all): its journal entries, and the purchases
 * that carry a stock effect (purchases are their own journal entries; older ones are in the
 * journal, without `stock` on the purchase).
 */
export async function stockChangesOf(db: Db, sku: string, store?: string): Promise<{ journaled: JournalEntry[]; purchases: PurchaseDoc[] }> {
  // By the stock effect, not the subject: a reservation's fulfilment changes the level too, and
  // its subject is the reservation.
  const query: Record<string, string> = store ? { 'stock.sku': sku, 'stock.store': store } : { 'stock.sku': sku };
  const [journaled, purchases] = await Promise.all([
    journalOf(db).find(query).toArray(),
    purchasesOf(db)
      .find({ sku, ...(store ? { store } : {}), stock: { $exists: true } })
      .toArray(),
  ]);
  return { journaled, purchases };
}
