import type { Db, Sort } from 'mongodb';
import type { CustomerDoc, ProductDoc, ProductView, PurchaseDoc, Sales } from '../domain/documents.js';
import { serverTraits } from './client.js';
import { COLLECTIONS, customersOf, journalOf, productsOf, purchasesOf, stockOf } from './collections.js';

// The readers behind `list customers|products|purchases` (services/read.ts is their face).

// Readers return plain documents without the projection's bookkeeping (_rev, _intent).
const hidden = { _rev: 0, _intent: 0 } as const;

export const customerSorts = { name: { lastName: 1, firstName: 1, _id: 1 }, purchases: { purchases: -1, _id: 1 }, registered: { registeredAt: -1, _id: 1 } } as const;
export const productSorts = { sku: { _id: 1 }, name: { name: 1, _id: 1 }, price: { 'price.amount': -1, _id: 1 }, sold: { _id: 1 } } as const;
export const purchaseSorts = { latest: { time: -1, _id: 1 }, oldest: { time: 1, _id: 1 }, quantity: { quantity: -1, _id: 1 } } as const;

export type CustomerSort = keyof typeof customerSorts;
export type ProductSort = keyof typeof productSorts;
export type PurchaseSort = keyof typeof purchaseSorts;

export interface OwnedItem {
  sku: string;
  quantity: number;
}

export type CustomerRow = CustomerDoc & { purchases: number; owned: OwnedItem[] };

// What customers own is derived from their purchases (the projection keeps purchases, not
// per-customer copies).
//
// Speed (3,000 customers, 20,000 purchases, FerretDB 1.24 on SQLite): FerretDB filters, groups
// and sorts nothing but `_id` in SQL, so every other query reads the whole collection (~3-4 s
// for these purchases) and a `$group` over 3,000 keys is slower still (~7 s). There, one pass
// over the purchases' three fields that matter, folded here, does the work of the three
// aggregations this used to make (13 s before, ~4 s now). MongoDB groups, sorts and limits in
// the server (the `customer` index serves the page's purchases): `readPlan` picks.

/** How a read is done: in the server (aggregation, indexes), or in one pass over the documents here. */
export type ReadPlan = 'server' | 'scan';

/** Server-side on MongoDB; one pass on FerretDB, whose aggregations read everything anyway. */
export async function readPlan(db: Db): Promise<ReadPlan> {
  return (await serverTraits(db)).kind === 'mongodb' ? 'server' : 'scan';
}

interface Owned {
  purchases: number;
  owned: OwnedItem[];
}

type PurchaseLine = Pick<PurchaseDoc, 'customerId' | 'sku' | 'quantity'>;
const lineFields = { _id: 0, customerId: 1, sku: 1, quantity: 1 } as const;

/** Purchases counted, and units per SKU, of each customer. */
async function foldOwned(lines: AsyncIterable<PurchaseLine>): Promise<Map<string, Owned>> {
  const bySku = new Map<string, { purchases: number; skus: Map<string, number> }>();
  for await (const line of lines) {
    const entry = bySku.get(line.customerId) ?? { purchases: 0, skus: new Map<string, number>() };
    entry.purchases += 1;
    entry.skus.set(line.sku, (entry.skus.get(line.sku) ?? 0) + line.quantity);
    bySku.set(line.customerId, entry);
  }
  const result = new Map<string, Owned>();
  for (const [customerId, entry] of bySku) {
    const owned = [...entry.skus].map(([sku, quantity]) => ({ sku, quantity })).sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
    result.set(customerId, { purchases: entry.purchases, owned });
  }
  return result;
}

/** The customers with the most purchases (ties by id), at most `limit`, and what each owns. */
async function topPurchasers(db: Db, limit: number, plan: ReadPlan): Promise<Array<{ customerId: string } & Owned>> {
  const purchases = purchasesOf(db);
  if (plan === 'server') {
    const top = await purchases
      .aggregate<{ _id: string; n: number }>([{ $group: { _id: '$customerId', n: { $sum: 1 } } }, { $sort: { n: -1, _id: 1 } }, { $limit: limit }])
      .toArray();
    const owned = await ownedBy(db, top.map((row) => row._id));
    return top.map((row) => ({ customerId: row._id, purchases: row.n, owned: owned.get(row._id)?.owned ?? [] }));
  }
  const all = await foldOwned(purchases.find({}, { projection: lineFields }) as AsyncIterable<PurchaseLine>);
  return [...all]
    .map(([customerId, entry]) => ({ customerId, ...entry }))
    .sort((a, b) => b.purchases - a.purchases || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0))
    .slice(0, limit);
}

/**
 * A page of customers with their purchases and what they own. `plan`: how to read (default:
 * `readPlan` of the server); both give the same rows.
 */
export async function listCustomers(db: Db, sort: CustomerSort, limit: number, plan?: ReadPlan): Promise<CustomerRow[]> {
  const customers = customersOf(db);
  let page: CustomerDoc[];
  let owned: Map<string, Owned>;
  if (sort === 'purchases') {
    const top = await topPurchasers(db, limit, plan ?? (await readPlan(db)));
    owned = new Map(top.map((row) => [row.customerId, row]));
    const found = await customers.find({ _id: { $in: top.map((row) => row.customerId) } }, { projection: hidden }).toArray();
    const byId = new Map(found.map((customer) => [customer._id, customer]));
    page = top.map((row) => byId.get(row.customerId)).filter((customer): customer is CustomerDoc => customer !== undefined);
    if (page.length < limit) {
      const rest = await customers
        .find({ _id: { $nin: page.map((customer) => customer._id) } }, { projection: hidden })
        .sort(customerSorts.name as Sort)
        .limit(limit - page.length)
        .toArray();
      page = page.concat(rest);
    }
  } else {
    page = await customers.find({}, { projection: hidden }).sort(customerSorts[sort] as Sort).limit(limit).toArray();
    owned = await ownedBy(db, page.map((customer) => customer._id));
  }
  return page.map((customer) => ({ ...customer, ...(owned.get(customer._id) ?? { purchases: 0, owned: [] }) }));
}

// The purchases of the page's customers, in one query (the `customer` index on MongoDB; one read
// of the collection on FerretDB, where the two aggregations this used to make read it twice),
// counted here: no `$group` with two accumulators, which an unpatched FerretDB 1.24 gets wrong.
async function ownedBy(db: Db, ids: readonly string[]): Promise<Map<string, Owned>> {
  if (ids.length === 0) return new Map();
  return foldOwned(purchasesOf(db).find({ customerId: { $in: [...ids] } }, { projection: lineFields }) as AsyncIterable<PurchaseLine>);
}

// A product's sales are kept per store on its stock documents (one writer each, see
// domain/documents.ts) and summed here. Units sold are purchases and store sales
// (`shop.stock.sold.v1`, journaled as negative changes), as `report sales` counts them; revenue
// is from purchases only (a store sale carries no price).
async function salesBySku(db: Db, skus?: readonly string[]): Promise<Map<string, Sales>> {
  const filter = skus ? { sku: { $in: [...skus] } } : {};
  const [rows, storeSales] = await Promise.all([
    stockOf(db).find(filter, { projection: { sku: 1, sold: 1 } }).toArray(),
    journalOf(db)
      .aggregate<{ _id: string; q: number }>([
        { $match: { type: 'shop.stock.sold.v1', ...(skus ? { 'stock.sku': { $in: [...skus] } } : {}) } },
        { $group: { _id: '$stock.sku', q: { $sum: '$stock.change' } } },
      ])
      .toArray(),
  ]);
  const sales = new Map<string, Sales>();
  for (const { _id, q } of storeSales) {
    if (q !== 0) sales.set(_id, { quantity: -q, revenue: { amount: 0, currency: '' } });
  }
  for (const row of rows) {
    if (!row.sold) continue;
    const sum = sales.get(row.sku);
    sales.set(
      row.sku,
      sum
        ? { quantity: sum.quantity + row.sold.quantity, revenue: { amount: sum.revenue.amount + row.sold.revenue.amount, currency: sum.revenue.currency || row.sold.revenue.currency } }
        : row.sold,
    );
  }
  return sales;
}

const withSales = (product: ProductDoc, sales: Map<string, Sales>): ProductView => {
  const sold = sales.get(product._id);
  return {
    ...product,
    sold: sold ? { quantity: sold.quantity, revenue: { amount: sold.revenue.amount, currency: sold.revenue.currency || product.price.currency } } : { quantity: 0, revenue: { amount: 0, currency: product.price.currency } },
  };
};

export async function listProducts(db: Db, sort: ProductSort, limit: number): Promise<ProductView[]> {
  const products = productsOf(db);
  if (sort === 'sold') {
    const [all, sales] = await Promise.all([products.find({}, { projection: hidden }).toArray(), salesBySku(db)]);
    return all
      .map((product) => withSales(product, sales))
      .sort((a, b) => b.sold.quantity - a.sold.quantity || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))
      .slice(0, limit);
  }
  const page = await products.find({}, { projection: hidden }).sort(productSorts[sort] as Sort).limit(limit).toArray();
  const sales = await salesBySku(db, page.map((product) => product._id));
  return page.map((product) => withSales(product, sales));
}

// A purchase's journal fields (where and when it was applied, the stock level after it) are
// bookkeeping; `shopctl history` shows them.
const purchaseHidden = { ...hidden, pos: 0, applied: 0, stock: 0, h: 0, intent: 0 } as const;

/** A purchase as listed: with its customer's name (null when the customer is not in MongoDB). */
export type PurchaseRow = PurchaseDoc & { customerName: string | null };

/** `customerId`: only that customer's purchases. */
export async function listPurchases(db: Db, sort: PurchaseSort, limit: number, customerId?: string): Promise<PurchaseRow[]> {
  const page = await purchasesOf(db)
    .find(customerId === undefined ? {} : { customerId }, { projection: purchaseHidden })
    .sort(purchaseSorts[sort] as Sort)
    .limit(limit)
    .toArray();
  // By `_id`: the one lookup FerretDB does in SQL.
  const ids = [...new Set(page.map((purchase) => purchase.customerId))];
  const names = new Map(
    (await customersOf(db).find({ _id: { $in: ids } }, { projection: { _id: 1, firstName: 1, lastName: 1 } }).toArray()).map((c) => [c._id, `${c.firstName} ${c.lastName}`]),
  );
  return page.map((purchase) => ({ ...purchase, customerName: names.get(purchase.customerId) ?? null }));
}

export type Listed = 'customers' | 'products' | 'purchases';

/**
 * How many documents `collection` holds (that match `filter`). FerretDB counts by reading every
 * document (3.6 s for 20,000 purchases) but knows the number from its storage ($collStats: 40 ms).
 */
export async function countOf(db: Db, collection: Listed, filter: Record<string, string> = {}): Promise<number> {
  const target = db.collection(COLLECTIONS[collection]);
  if (Object.keys(filter).length === 0 && (await serverTraits(db)).kind === 'ferretdb') {
    const [stats] = await target.aggregate<{ count?: number }>([{ $collStats: { count: {} } }]).toArray().catch(() => []);
    if (typeof stats?.count === 'number') return stats.count;
  }
  return target.countDocuments(filter);
}

/** A row of `report sales`: units sold (purchases and store sales) and purchase revenue of one SKU. */
export interface SalesReportRow {
  sku: string;
  name: string | null;
  quantity: number;
  /** Revenue in minor units of `currency`, from purchases (store sales carry no price). */
  revenue: number;
  currency: string | null;
}

/**
 * The best sellers: units sold per SKU (purchases and store sales, as `list products` counts
 * them), most first (then by revenue, then SKU), with purchase revenue.
 *
 * All time: from what the projection keeps per stock document (`sold`, one per store and SKU)
 * and the journal's store sales: no purchase is read (0.3 s instead of 7 s with 20,000 purchases
 * on FerretDB, which read them all twice). `since`: the purchases since then, grouped in the
 * server on MongoDB (the `time_desc` index finds them), in one pass here on FerretDB (`plan`).
 */
export async function salesReport(db: Db, options: { top: number; since?: string | undefined }, plan?: ReadPlan): Promise<SalesReportRow[]> {
  const { since } = options;
  const sums = new Map<string, { quantity: number; revenue: number }>();
  const add = (sku: string, quantity: number, revenue: number) => {
    const sum = sums.get(sku) ?? { quantity: 0, revenue: 0 };
    sum.quantity += quantity;
    sum.revenue += revenue;
    sums.set(sku, sum);
  };
  const storeSales = () =>
    journalOf(db)
      .aggregate<{ _id: string; q: number }>([
        { $match: { type: 'shop.stock.sold.v1', ...(since ? { time: { $gte: since } } : {}) } },
        { $group: { _id: '$stock.sku', q: { $sum: '$stock.change' } } },
      ])
      .toArray();
  const purchased = async (): Promise<void> => {
    if (since === undefined) {
      for (const doc of await stockOf(db).find({ sold: { $exists: true } }, { projection: { sku: 1, sold: 1 } }).toArray()) {
        if (doc.sold) add(doc.sku, doc.sold.quantity, doc.sold.revenue.amount);
      }
    } else if ((plan ?? (await readPlan(db))) === 'server') {
      const rows = await purchasesOf(db)
        .aggregate<{ _id: string; q: number; r: number }>([
          { $match: { time: { $gte: since } } },
          { $group: { _id: '$sku', q: { $sum: '$quantity' }, r: { $sum: '$total.amount' } } },
        ])
        .toArray();
      for (const row of rows) add(row._id, row.q, row.r);
    } else {
      const lines = purchasesOf(db).find({ time: { $gte: since } }, { projection: { _id: 0, sku: 1, quantity: 1, 'total.amount': 1 } });
      for await (const line of lines as AsyncIterable<Pick<PurchaseDoc, 'sku' | 'quantity' | 'total'>>) add(line.sku, line.quantity, line.total.amount);
    }
  };
  const [sold] = await Promise.all([storeSales(), purchased()]);
  for (const { _id, q } of sold) add(_id, -q, 0); // store sales are journaled as negative changes
  const top = [...sums]
    .map(([sku, sum]) => ({ sku, ...sum }))
    .filter((row) => row.quantity !== 0 || row.revenue !== 0)
    .sort((a, b) => b.quantity - a.quantity || b.revenue - a.revenue || (a.sku < b.sku ? -1 : 1))
    .slice(0, options.top);
  const products = await productsOf(db)
    .find({ _id: { $in: top.map((row) => row.sku) } }, { projection: { _id: 1, name: 1, price: 1 } })
    .toArray();
  const byId = new Map(products.map((product) => [product._id, product]));
  return top.map((row) => ({ ...row, name: byId.get(row.sku)?.name ?? null, currency: byId.get(row.sku)?.price.currency ?? null }));
}
