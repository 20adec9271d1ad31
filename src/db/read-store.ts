import type { Db, Sort } from 'mongodb';
import type { CustomerDoc, ProductDoc, ProductView, PurchaseDoc, Sales } from '../domain/documents.js';
import { COLLECTIONS, customersOf, productsOf, purchasesOf, stockOf } from './collections.js';

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
// per-customer copies): one aggregation for the customers on the page.
export async function listCustomers(db: Db, sort: CustomerSort, limit: number): Promise<CustomerRow[]> {
  const customers = customersOf(db);
  let page: CustomerDoc[];
  if (sort === 'purchases') {
    const top = await purchasesOf(db)
      .aggregate<{ _id: string; n: number }>([
        { $group: { _id: '$customerId', n: { $sum: 1 } } },
        { $sort: { n: -1, _id: 1 } },
        { $limit: limit },
      ])
      .toArray();
    const found = await customers.find({ _id: { $in: top.map((row) => row._id) } }, { projection: hidden }).toArray();
    const byId = new Map(found.map((customer) => [customer._id, customer]));
    page = top.map((row) => byId.get(row._id)).filter((customer): customer is CustomerDoc => customer !== undefined);
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
  }
  const owned = await ownedBy(db, page.map((customer) => customer._id));
  return page.map((customer) => {
    const items = owned.get(customer._id) ?? { purchases: 0, owned: [] };
    return { ...customer, ...items };
  });
}

// One accumulator per $group: an unpatched FerretDB 1.24 returns 0 for every $sum after the first
// one (the local stack's build is patched, scripts/stack/patches/0005; others may not be).
async function ownedBy(db: Db, ids: readonly string[]): Promise<Map<string, { purchases: number; owned: OwnedItem[] }>> {
  const purchases = purchasesOf(db);
  const match = { $match: { customerId: { $in: [...ids] } } };
  const [quantities, counts] = await Promise.all([
    purchases
      .aggregate<{ _id: { customerId: string; sku: string }; quantity: number }>([
        match,
        { $group: { _id: { customerId: '$customerId', sku: '$sku' }, quantity: { $sum: '$quantity' } } },
      ])
      .toArray(),
    purchases.aggregate<{ _id: string; n: number }>([match, { $group: { _id: '$customerId', n: { $sum: 1 } } }]).toArray(),
  ]);
  const result = new Map<string, { purchases: number; owned: OwnedItem[] }>();
  for (const row of counts) result.set(row._id, { purchases: row.n, owned: [] });
  for (const row of quantities) {
    const entry = result.get(row._id.customerId) ?? { purchases: 0, owned: [] };
    entry.owned.push({ sku: row._id.sku, quantity: row.quantity });
    result.set(row._id.customerId, entry);
  }
  for (const entry of result.values()) entry.owned.sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  return result;
}

// A product's sales are kept per store on its stock documents (one writer each, see
// domain/documents.ts) and summed here.
async function salesBySku(db: Db, skus?: readonly string[]): Promise<Map<string, Sales>> {
  const filter = skus ? { sku: { $in: [...skus] } } : {};
  const rows = await stockOf(db).find(filter, { projection: { sku: 1, sold: 1 } }).toArray();
  const sales = new Map<string, Sales>();
  for (const row of rows) {
    if (!row.sold) continue;
    const sum = sales.get(row.sku);
    sales.set(
      row.sku,
      sum
        ? { quantity: sum.quantity + row.sold.quantity, revenue: { amount: sum.revenue.amount + row.sold.revenue.amount, currency: sum.revenue.currency } }
        : row.sold,
    );
  }
  return sales;
}

const withSales = (product: ProductDoc, sales: Map<string, Sales>): ProductView => ({
  ...product,
  sold: sales.get(product._id) ?? { quantity: 0, revenue: { amount: 0, currency: product.price.currency } },
});

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

export async function listPurchases(db: Db, sort: PurchaseSort, limit: number): Promise<PurchaseDoc[]> {
  return purchasesOf(db)
    .find({}, { projection: purchaseHidden })
    .sort(purchaseSorts[sort] as Sort)
    .limit(limit)
    .toArray();
}

export type Listed = 'customers' | 'products' | 'purchases';

export async function countOf(db: Db, collection: Listed): Promise<number> {
  return db.collection(COLLECTIONS[collection]).countDocuments();
}
