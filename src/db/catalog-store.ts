import type { Db } from 'mongodb';
import type { PurchaseDoc } from '../domain/documents.js';
import type { Money } from '../domain/money.js';
import { customersOf, INTENTS, productsOf, purchasesOf, stockOf } from './collections.js';

// What purchases are made of: the ids of customers and the products with their prices.

/** Every customer id and every product with its price, sorted by id (a seed then picks the same). */
export async function catalogue(db: Db): Promise<{ customers: Array<{ _id: string }>; products: Array<{ _id: string; price: Money }> }> {
  const [customers, products] = await Promise.all([
    customersOf(db).find({}, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray(),
    productsOf(db).find({}, { projection: { _id: 1, price: 1 } }).sort({ _id: 1 }).toArray(),
  ]);
  return { customers, products };
}

/** The customer (its id) and the product (with its price) of one purchase, null where unknown. */
export async function purchaseReferences(
  db: Db,
  customerId: string,
  sku: string,
): Promise<{ customer: { _id: string } | null; product: { _id: string; price: Money } | null }> {
  const [customer, product] = await Promise.all([
    customersOf(db).findOne({ _id: customerId }, { projection: { _id: 1 } }),
    productsOf(db).findOne({ _id: sku }, { projection: { _id: 1, price: 1 } }),
  ]);
  return { customer, product };
}

/** A stock document as a random run sees it: what is there, what purchases took, its last writer. */
export interface StockAtStore {
  sku: string;
  level: number;
  /** Units taken by purchases there so far. */
  sold: number;
  /** The write intent that last wrote it. */
  intent?: string | undefined;
}

/**
 * The stock documents of one store, and the ids of the write intents still in flight (a writer
 * crashed between journaling purchases and writing the documents: see services/projection).
 * The intents are read first: an intent finished between the two reads is then only seen done.
 */
export async function stockAtStore(db: Db, store: string): Promise<{ levels: StockAtStore[]; pending: Set<string> }> {
  const heads = await db.collection<{ _id: string }>(INTENTS).find({}, { projection: { _id: 1 } }).toArray();
  const docs = await stockOf(db)
    .find({ store }, { projection: { sku: 1, level: 1, sold: 1, _intent: 1 } })
    .toArray();
  return {
    levels: docs.map((doc) => ({ sku: doc.sku, level: doc.level, sold: doc.sold?.quantity ?? 0, intent: doc._intent })),
    pending: new Set(heads.map((head) => head._id)),
  };
}

/** A purchase as applied, with the write intent that journaled it. */
export type AppliedPurchase = Pick<PurchaseDoc, '_id' | 'customerId' | 'sku' | 'store' | 'quantity' | 'unitPrice' | 'intent'>;

/** The largest `_id: { $in }` FerretDB serves from its index (patched: scripts/stack/patches/0002). */
export const IDS_PER_QUERY = 1000;

/** The purchases with these ids that are applied (at most IDS_PER_QUERY ids: one query). */
export async function appliedPurchases(db: Db, ids: readonly string[]): Promise<AppliedPurchase[]> {
  if (ids.length > IDS_PER_QUERY) throw new RangeError(`appliedPurchases: at most ${IDS_PER_QUERY} ids per query, got ${ids.length}`);
  return purchasesOf(db)
    .find({ _id: { $in: [...ids] } }, { projection: { _id: 1, customerId: 1, sku: 1, store: 1, quantity: 1, unitPrice: 1, intent: 1 } })
    .toArray();
}
