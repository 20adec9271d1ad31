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
  const query: Record<string, string> = store ? { subject: `stock/${store}/${sku}` } : { 'stock.sku': sku };
  const [journaled, purchases] = await Promise.all([
    journalOf(db).find(query).toArray(),
    purchasesOf(db)
      .find({ sku, ...(store ? { store } : {}), stock: { $exists: true } })
      .toArray(),
  ]);
  return { journaled, purchases };
}

export interface SkuSums {
  /** Units bought in purchases, per SKU. */
  purchased: Array<{ _id: string; q: number }>;
  /** Revenue of purchases in minor units, per SKU. */
  revenue: Array<{ _id: string; r: number }>;
  /** Store sales per SKU, as journaled: negative changes. */
  storeSales: Array<{ _id: string; q: number }>;
}

// One accumulator per $group (FerretDB 1.24 returns 0 for any $sum after the first).
export async function salesSumsBySku(db: Db, since?: string): Promise<SkuSums> {
  const purchaseMatch = since ? [{ $match: { time: { $gte: since } } }] : [];
  const purchases = purchasesOf(db);
  const [purchased, revenue, storeSales] = await Promise.all([
    purchases.aggregate<{ _id: string; q: number }>([...purchaseMatch, { $group: { _id: '$sku', q: { $sum: '$quantity' } } }]).toArray(),
    purchases.aggregate<{ _id: string; r: number }>([...purchaseMatch, { $group: { _id: '$sku', r: { $sum: '$total.amount' } } }]).toArray(),
    journalOf(db)
      .aggregate<{ _id: string; q: number }>([
        { $match: { type: 'shop.stock.sold.v1', ...(since ? { time: { $gte: since } } : {}) } },
        { $group: { _id: '$stock.sku', q: { $sum: '$stock.change' } } },
      ])
      .toArray(),
  ]);
  return { purchased, revenue, storeSales };
}

/** Name and currency of the products with these SKUs. */
export async function productNames(db: Db, skus: readonly string[]): Promise<Array<{ _id: string; name: string; price: { currency: string } }>> {
  return productsOf(db)
    .find({ _id: { $in: [...skus] } }, { projection: { _id: 1, name: 1, price: 1 } })
    .toArray();
}
