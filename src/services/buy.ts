import type { Db } from 'mongodb';
import type { CustomerDoc, ProductDoc } from '../domain/documents.js';
import { createEvent, envelopeOf, type ShopEvent } from '../domain/events.js';
import { createFaker, generatePurchase, type CatalogEntry } from '../domain/generators.js';
import { UsageError, ShopctlError } from '../errors.js';
import { context } from './make.js';
import type { Runtime } from './runtime.js';

export interface Catalog {
  customers: string[];
  products: CatalogEntry[];
}

// Random purchases pick among what is already in MongoDB; sorted so a seed picks the same.
export async function loadCatalog(db: Db, dbName: string): Promise<Catalog> {
  const [customers, products] = await Promise.all([
    db.collection<CustomerDoc>('customers').find({}, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray(),
    db.collection<ProductDoc>('products').find({}, { projection: { _id: 1, price: 1 } }).sort({ _id: 1 }).toArray(),
  ]);
  const missing = [customers.length === 0 ? 'customers' : null, products.length === 0 ? 'products' : null].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`No ${missing.join(' and no ')} in database '${dbName}' to buy with`, {
      suggestion:
        'Run `shopctl make customers` and `shopctl make products` first (with --via kafka, also `shopctl consume --until-idle 5`).',
    });
  }
  return {
    customers: customers.map((customer) => customer._id),
    products: products.map((product) => ({ sku: product._id, price: product.price })),
  };
}

export function* randomPurchaseEvents(
  runtime: Runtime,
  catalog: Catalog,
  options: { count: number; store: string; chunk: number; maxQuantity?: number },
): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed);
  const choices = { ...catalog, store: options.store, ...(options.maxQuantity ? { maxQuantity: options.maxQuantity } : {}) };
  for (let made = 0; made < options.count; made += options.chunk) {
    const events: ShopEvent[] = [];
    for (let i = made; i < Math.min(options.count, made + options.chunk); i += 1) {
      events.push(envelopeOf('shop.purchase.made.v1', generatePurchase(faker, choices), context(runtime)));
    }
    yield events;
  }
}

export interface SinglePurchase {
  customerId: string;
  sku: string;
  quantity: number;
  store: string;
}

// One named purchase: both references are checked against MongoDB first, so a typo is refused
// with a clear message on either path instead of becoming a dead letter.
export async function singlePurchaseEvent(db: Db, runtime: Runtime, purchase: SinglePurchase): Promise<ShopEvent> {
  const [customer, product] = await Promise.all([
    db.collection<CustomerDoc>('customers').findOne({ _id: purchase.customerId }, { projection: { _id: 1 } }),
    db.collection<ProductDoc>('products').findOne({ _id: purchase.sku }, { projection: { _id: 1, price: 1 } }),
  ]);
  const problems = [
    customer ? null : `unknown customer '${purchase.customerId}'`,
    product ? null : `unknown product '${purchase.sku}'`,
  ].filter((problem): problem is string => problem !== null);
  if (problems.length > 0 || !product) {
    throw new ShopctlError(`Purchase refused: ${problems.join(' and ')}`, {
      code: 'UNKNOWN_REFERENCE',
      suggestion: 'List what exists with `shopctl list customers` and `shopctl list products`.',
    });
  }
  return createEvent(
    'shop.purchase.made.v1',
    { customerId: purchase.customerId, sku: purchase.sku, store: purchase.store, quantity: purchase.quantity, unitPrice: product.price },
    context(runtime),
  );
}
