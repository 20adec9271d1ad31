import type { Db } from 'mongodb';
import type { Money } from '../domain/money.js';
import { customersOf, productsOf, RUNS, stockOf } from './collections.js';

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

/** The units of each SKU at one store now (sorted by SKU). */
export async function stockAtStore(db: Db, store: string): Promise<Array<{ sku: string; level: number }>> {
  const docs = await stockOf(db).find({ store }, { projection: { sku: 1, level: 1 } }).toArray();
  return docs.map((doc) => ({ sku: doc.sku, level: doc.level })).sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/** Where one seeded run started: the stock it was drawn from, kept so that running it again draws the same. */
interface RunDoc {
  _id: string;
  levels: Array<{ sku: string; level: number }>;
  at: string;
}

/**
 * The stock run `key` starts from: the one recorded when it first ran, or else `read()`'s,
 * recorded now if `worthKeeping` (a run that cannot start is not recorded: after goods are
 * received it is a first run). One insert; when two first runs race, the first recorded wins for
 * both. `again`: the run had started before.
 */
export async function pinnedStart(
  db: Db,
  key: string,
  read: () => Promise<Array<{ sku: string; level: number }>>,
  worthKeeping: (levels: ReadonlyArray<{ sku: string; level: number }>) => boolean,
): Promise<{ levels: Array<{ sku: string; level: number }>; again: boolean }> {
  const runs = db.collection<RunDoc>(RUNS);
  const before = await runs.findOne({ _id: key });
  if (before) return { levels: before.levels, again: true };
  const levels = await read();
  if (!worthKeeping(levels)) return { levels, again: false };
  try {
    await runs.insertOne({ _id: key, levels, at: new Date().toISOString() });
    return { levels, again: false };
  } catch (error) {
    if ((error as { code?: unknown }).code !== 11000) throw error;
    const first = await runs.findOne({ _id: key });
    if (!first) throw error;
    return { levels: first.levels, again: true };
  }
}
