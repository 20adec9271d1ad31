import { createEvent, type ShopEvent } from '../domain/events.js';
import { createFaker, generateCustomer, generateProduct, type Locale } from '../domain/generators.js';
import type { Runtime } from './runtime.js';

/** Events are produced in chunks so that a million customers never sit in memory at once. */
export const MAKE_CHUNK = 1000;

export function* customerEvents(runtime: Runtime, count: number, locale: Locale): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed, locale);
  for (let made = 0; made < count; made += MAKE_CHUNK) {
    const chunk: ShopEvent[] = [];
    for (let i = made; i < Math.min(count, made + MAKE_CHUNK); i += 1) {
      const data = generateCustomer(faker, locale.name);
      chunk.push(createEvent('shop.customer.registered.v1', data, context(runtime)));
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
  for (let made = 0; made < count; made += MAKE_CHUNK) {
    const chunk: ShopEvent[] = [];
    for (let i = made; i < Math.min(count, made + MAKE_CHUNK); i += 1) {
      const product = generateProduct(faker, currency, taken);
      chunk.push(createEvent('shop.product.added.v1', product, context(runtime)));
      if (stock && stock.quantity > 0) {
        chunk.push(createEvent('shop.stock.received.v1', { store: stock.store, sku: product.sku, quantity: stock.quantity }, context(runtime)));
      }
    }
    yield chunk;
  }
}

export function context(runtime: Runtime): { id: string; time: string; source: string } {
  return { id: runtime.newId(), time: runtime.now().toISOString(), source: runtime.source };
}
