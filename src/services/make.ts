import { createEvent, type ShopEvent } from '../domain/events.js';
import { createFaker, generateCustomer, generateProduct, generateStore, type Locale } from '../domain/generators.js';
import type { Runtime } from './runtime.js';

/** Events are produced in chunks so that a million customers never sit in memory at once. */
export const MAKE_CHUNK = 1000;

export function* customerEvents(runtime: Runtime, count: number, locale: Locale): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed, locale);
  // The locale changes every customer, so it is part of both ids: `--locale de` then `--locale ja`
  // with one seed registers two sets of customers, not one set twice.
  const eventIds = runtime.ids('make customers', { locale: locale.name });
  const customerIds = runtime.ids('make customers: customer id', { locale: locale.name });
  for (let made = 0; made < count; made += MAKE_CHUNK) {
    const chunk: ShopEvent[] = [];
    for (let i = made; i < Math.min(count, made + MAKE_CHUNK); i += 1) {
      const data = generateCustomer(faker, locale.name, customerIds());
      chunk.push(createEvent('shop.customer.registered.v1', data, context(runtime, eventIds())));
    }
    yield chunk;
  }
}

export interface InitialStock {
  store: string;
  quantity: number;
}

/** Products, each followed by goods received at a store when `stock` is given (so they can be bought). */
export function* productEvents(runtime: Runtime, count: number, currency: string, stock?: InitialStock): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed);
  const taken = new Set<string>();
  const productIds = runtime.ids('make products', { currency });
  // Goods received depend on the store and quantity too: another --stock is another receipt.
  const stockIds = runtime.ids('make products: stock received', { currency, store: stock?.store, quantity: stock?.quantity });
  for (let made = 0; made < count; made += MAKE_CHUNK) {
    const chunk: ShopEvent[] = [];
    for (let i = made; i < Math.min(count, made + MAKE_CHUNK); i += 1) {
      const product = generateProduct(faker, currency, taken);
      chunk.push(createEvent('shop.product.added.v1', product, context(runtime, productIds())));
      if (stock && stock.quantity > 0) {
        const received = { store: stock.store, sku: product.sku, quantity: stock.quantity };
        chunk.push(createEvent('shop.stock.received.v1', received, context(runtime, stockIds())));
      }
    }
    yield chunk;
  }
}

/** Stores (warehouses) with capacity and location: one `shop.store.defined.v1` each. */
export function* storeEvents(runtime: Runtime, count: number): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed);
  const taken = new Set<string>();
  const eventIds = runtime.ids('make stores');
  for (let made = 0; made < count; made += MAKE_CHUNK) {
    const chunk: ShopEvent[] = [];
    for (let i = made; i < Math.min(count, made + MAKE_CHUNK); i += 1) {
      chunk.push(createEvent('shop.store.defined.v1', generateStore(faker, taken), context(runtime, eventIds())));
    }
    yield chunk;
  }
}

/** An event's envelope fields: its id (from one of the runtime's id streams), time and source. */
export function context(runtime: Runtime, id: string): { id: string; time: string; source: string } {
  return { id, time: runtime.now().toISOString(), source: runtime.source };
}
