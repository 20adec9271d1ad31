import type { Db } from 'mongodb';
import type { StoreDoc } from '../domain/documents.js';
import { collectionOf, stockOf } from './collections.js';

// The queries behind `stores` and the freshness column of `list stock` (services/stores.ts and
// services/stock.ts decide what to make of them).

/** What the central view knows of a store: its last heartbeat (the store's clock). */
export type StoreHeard = Pick<StoreDoc, '_id' | 'lastHeartbeat'>;

/** Every store that ever sent a heartbeat (or only those of `ids`). */
export async function findStores(db: Db, ids?: readonly string[]): Promise<StoreHeard[]> {
  // `_id` with `$in` is not pushed down to SQL on FerretDB (ARCHITECTURE.md), but there is one
  // document per store: a handful, read whole either way.
  return collectionOf(db, 'stores')
    .find(ids ? { _id: { $in: [...ids] } } : {}, { projection: { _id: 1, lastHeartbeat: 1 } })
    .toArray();
}

/** One stock document as `stores` sums it. */
export interface StockLine {
  store: string;
  sku: string;
  level: number;
  pending: number;
  updatedAt: string;
}

/**
 * Every stock document's store, level, holds and last change. Read in one pass and summed by the
 * caller, not grouped in the server: FerretDB 1.24 computed only the first `$sum` of a `$group`
 * in earlier tests (ARCHITECTURE.md), and it reads every document for a `$group` anyway.
 */
export async function stockLines(db: Db): Promise<StockLine[]> {
  const docs = await stockOf(db)
    .find({}, { projection: { _id: 0, store: 1, sku: 1, level: 1, pending: 1, updatedAt: 1 } })
    .toArray();
  return docs.map((doc) => ({ store: doc.store, sku: doc.sku, level: doc.level, pending: doc.pending ?? 0, updatedAt: doc.updatedAt }));
}
