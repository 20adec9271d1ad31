import { createEvent, type ShopEvent } from '../domain/events.js';
import { createFaker, generateCustomer, generateProduct } from '../domain/generators.js';
import type { Runtime } from './runtime.js';

/** Events are produced in chunks so that a million customers never sit in memory at once. */
export const MAKE_CHUNK = 1000;

export function* customerEvents(runtime: Runtime, count: number, locale: string): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed, locale);
  for (let made = 0; made < count; made += MAKE_CHUNK) {
    const chunk: ShopEvent[] = [];
    for (let i = made; i < Math.min(count, made + MAKE_CHUNK); i += 1) {
      const data = generateCustomer(faker, locale);
      chunk.push(createEvent('shop.customer.registered.v1', data, context(runtime)));
    }
    yield chunk;
  }
}

export function* productEvents(runtime: Runtime, count: number, currency: string): Generator<ShopEvent[]> {
  const faker = createFaker(runtime.seed);
  const taken = new Set<string>();
  for (let made = 0; made < count; made += MAKE_CHUNK) {
    const chunk: ShopEvent[] = [];
    for (let i = made; i < Math.min(count, made + MAKE_CHUNK); i += 1) {
      chunk.push(createEvent('shop.product.added.v1', generateProduct(faker, currency, taken), context(runtime)));
    }
    yield chunk;
  }
}

export function context(runtime: Runtime): { id: string; time: string; source: string } {
  return { id: runtime.newId(), time: runtime.now().toISOString(), source: runtime.source };
}
