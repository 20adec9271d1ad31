import type { Db } from 'mongodb';
import { maxLevelOf, type PositionDoc, type StoreDoc } from '../domain/documents.js';
import { collectionOf, positionsOf, stockOf } from './collections.js';

// The queries behind `stores` and the freshness column of `list stock` (services/stores.ts and
// services/stock.ts decide what to make of them).

/** What the central view knows of a store: its last heartbeat (the store's clock), its capacity and location. */
export type StoreHeard = Pick<StoreDoc, '_id' | 'lastHeartbeat' | 'capacity' | 'lat' | 'lon' | 'city'>;

/** Every store that ever sent a heartbeat or was defined (or only those of `ids`). */
export async function findStores(db: Db, ids?: readonly string[]): Promise<StoreHeard[]> {
  // `_id` with `$in` is not pushed down to SQL on FerretDB (ARCHITECTURE.md), but there is one
  // document per store: a handful, read whole either way.
  return collectionOf(db, 'stores')
    .find(ids ? { _id: { $in: [...ids] } } : {}, { projection: { _id: 1, lastHeartbeat: 1, capacity: 1, lat: 1, lon: 1, city: 1 } })
    .toArray();
}

/** One stock document as `stores` sums it. */
export interface StockLine {
  store: string;
  sku: string;
  level: number;
  pending: number;
  /** The highest level it ever had (domain/documents maxLevelOf). */
  maxLevel: number;
  updatedAt: string;
}

/**
 * Every stock document's store, level, holds and last change. Read in one pass and summed by the
 * caller, not grouped in the server: FerretDB 1.24 computed only the first `$sum` of a `$group`
 * in earlier tests (ARCHITECTURE.md), and it reads every document for a `$group` anyway.
 */
export async function stockLines(db: Db, store?: string): Promise<StockLine[]> {
  const docs = await stockOf(db)
    .find(store === undefined ? {} : { store }, { projection: { _id: 0, store: 1, sku: 1, level: 1, pending: 1, maxLevel: 1, updatedAt: 1 } })
    .toArray();
  return docs.map((doc) => ({ store: doc.store, sku: doc.sku, level: doc.level, pending: doc.pending ?? 0, maxLevel: maxLevelOf(doc), updatedAt: doc.updatedAt }));
}

/**
 * The global positions the projection keeps, one per SKU (or only that of `sku`). One document
 * per SKU, not per store and SKU: the read behind `report position|range|low`.
 */
export async function findPositions(db: Db, sku?: string): Promise<PositionDoc[]> {
  return positionsOf(db)
    .find(sku === undefined ? {} : { _id: sku }, { projection: { _intent: 0, _at: 0 } })
    .toArray();
}

/** The names of these products (by SKU); `_id` with `$in`: one read. */
export async function productNames(db: Db, skus: readonly string[]): Promise<Map<string, string>> {
  if (skus.length === 0) return new Map();
  const docs = await collectionOf(db, 'products')
    .find({ _id: { $in: [...skus] } }, { projection: { _id: 1, name: 1 } })
    .toArray();
  return new Map(docs.map((doc) => [doc._id, doc.name]));
}
