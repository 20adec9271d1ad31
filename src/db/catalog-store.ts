import type { Db } from 'mongodb';
import type { Money } from '../domain/money.js';
import { customersOf, productsOf } from './collections.js';

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
