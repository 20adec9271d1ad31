import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { seedArgument } from '../../src/commands/shared.js';
import { configSchema, defaultConfig } from '../../src/config/schema.js';
import type { ShopEvent } from '../../src/domain/events.js';
import { englishLocale, MAX_SEED } from '../../src/domain/generators.js';
import { randomPurchaseEvents, singlePurchaseEvent, type Catalog } from '../../src/services/buy.js';
import { loadLocale } from '../../src/services/locales.js';
import { customerEvents, productEvents } from '../../src/services/make.js';
import { purchasesInThread } from '../../src/services/purchase-thread.js';
import { createRuntime, nameBasedId } from '../../src/services/runtime.js';

// Seeded event ids are name-based on (kind, seed, options, position): equal seeds never collide
// across commands or options, and the same command with the same seed and options repeats its ids.

const clock = () => new Date('2026-01-01T00:00:00Z');
const all = (chunks: Iterable<ShopEvent[]>): ShopEvent[] => [...chunks].flat();
const idsOf = (events: readonly ShopEvent[]): string[] => events.map((event) => event.id);
const uuidV5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const customers = (seed: number | null, count = 5, locale = englishLocale) => all(customerEvents(createRuntime(seed, clock), count, locale));
const products = (seed: number | null, count = 5, currency = 'EUR', quantity = 10) =>
  all(productEvents(createRuntime(seed, clock), count, currency, { store: 'online', quantity }));

const catalog: Catalog = {
  customers: ['c1', 'c2', 'c3'],
  products: [
    { sku: 'SKU-A', price: { amount: 100, currency: 'EUR' } },
    { sku: 'SKU-B', price: { amount: 999, currency: 'EUR' } },
  ],
};
const purchases = (seed: number | null, options: { store?: string; catalog?: Catalog; count?: number; chunk?: number } = {}) =>
  all(
    randomPurchaseEvents(createRuntime(seed, clock), options.catalog ?? catalog, {
      count: options.count ?? 50,
      store: options.store ?? 'online',
      chunk: options.chunk ?? 20,
    }),
  );

// A stand-in for the two lookups singlePurchaseEvent makes.
const lookups = {
  collection: (name: string) => ({
    findOne: (filter: { _id: string }) =>
      Promise.resolve(name === 'products' ? { _id: filter._id, price: { amount: 250, currency: 'EUR' } } : { _id: filter._id }),
  }),
} as unknown as Parameters<typeof singlePurchaseEvent>[0];
const single = (seed: number | null, quantity = 1) =>
  singlePurchaseEvent(lookups, createRuntime(seed, clock), { customerId: 'c1', sku: 'SKU-A', quantity, store: 'online' });

function expectDisjoint(a: readonly string[], b: readonly string[]): void {
  const shared = a.filter((id) => new Set(b).has(id));
  expect(shared).toEqual([]);
}

describe('seeded event ids', () => {
  it('equal seeds give disjoint ids across kinds: customers, products, their stock, purchases, one purchase', async () => {
    const kinds = {
      customers: idsOf(customers(1)),
      products: idsOf(products(1)),
      purchases: idsOf(purchases(1)),
      single: [(await single(1)).id],
    };
    const every = Object.values(kinds).flat();
    expect(every).toHaveLength(5 + 10 + 50 + 1);
    expect(new Set(every).size).toBe(every.length);
    for (const id of every) expect(id).toMatch(uuidV5);
  });

  it('the same command with the same seed and options repeats its ids (a re-run completes, never duplicates)', async () => {
    expect(idsOf(customers(1))).toEqual(idsOf(customers(1)));
    expect(idsOf(products(1))).toEqual(idsOf(products(1)));
    expect(idsOf(purchases(1))).toEqual(idsOf(purchases(1)));
    expect((await single(1)).id).toBe((await single(1)).id);
    // The count and the chunking do not change the events: a longer run starts with the shorter one.
    expect(idsOf(customers(1, 3))).toEqual(idsOf(customers(1, 5)).slice(0, 3));
    expect(idsOf(purchases(1, { count: 10, chunk: 3 }))).toEqual(idsOf(purchases(1)).slice(0, 10));
  });

  it('another seed, locale, currency, stock quantity, store or catalogue gives other ids', async () => {
    expectDisjoint(idsOf(customers(1)), idsOf(customers(2)));
    const [de, ja] = await Promise.all([loadLocale('de'), loadLocale('ja')]);
    const german = customers(1, 5, de);
    const japanese = customers(1, 5, ja);
    expectDisjoint(idsOf(german), idsOf(japanese));
    // The customers themselves differ too (they would otherwise overwrite each other's profiles).
    const customerIds = (events: ShopEvent[]) => events.map((event) => (event.data as { customerId: string }).customerId);
    expectDisjoint(customerIds(german), customerIds(japanese));
    expectDisjoint(idsOf(products(1, 5, 'EUR')), idsOf(products(1, 5, 'USD')));
    // Another --stock quantity: other receipts; the products themselves are the same events.
    const stockIds = (events: ShopEvent[]) => idsOf(events.filter((event) => event.type === 'shop.stock.received.v1'));
    const productIds = (events: ShopEvent[]) => idsOf(events.filter((event) => event.type === 'shop.product.added.v1'));
    expectDisjoint(stockIds(products(1, 5, 'EUR', 10)), stockIds(products(1, 5, 'EUR', 20)));
    expect(productIds(products(1, 5, 'EUR', 10))).toEqual(productIds(products(1, 5, 'EUR', 20)));
    expectDisjoint(idsOf(purchases(1)), idsOf(purchases(1, { store: 'berlin' })));
    const bigger = { ...catalog, customers: [...catalog.customers, 'c4'] };
    expectDisjoint(idsOf(purchases(1)), idsOf(purchases(1, { catalog: bigger })));
    expect((await single(1, 1)).id).not.toBe((await single(1, 2)).id);
  });

  it('seed 2^32 + 1 is refused, not taken for seed 1 (Faker keeps 32 bits)', () => {
    const parse = seedArgument();
    expect(parse('1')).toBe(1);
    expect(parse(String(MAX_SEED))).toBe(2 ** 32 - 1);
    expect(() => parse('4294967297')).toThrow(InvalidArgumentError);
    expect(() => parse('4294967297')).toThrow("--seed must be a whole number from 0 to 4294967295 (Faker seeds have 32 bits), got '4294967297'.");
    expect(() => parse('-1')).toThrow(InvalidArgumentError);
    expect(() => createRuntime(2 ** 32 + 1)).toThrow(RangeError);
    // The same bound for generate.seed in a config file or SHOPCTL_SEED.
    const withSeed = (seed: number) => configSchema.safeParse({ ...defaultConfig, generate: { ...defaultConfig.generate, seed } }).success;
    expect(withSeed(MAX_SEED)).toBe(true);
    expect(withSeed(2 ** 32 + 1)).toBe(false);
    // Within the range, neighbouring seeds stay distinct.
    expectDisjoint(idsOf(customers(MAX_SEED)), idsOf(customers(MAX_SEED - 1)));
  });

  it('unseeded runs keep random ids', () => {
    expectDisjoint(idsOf(customers(null)), idsOf(customers(null)));
    expectDisjoint(idsOf(purchases(null)), idsOf(purchases(null)));
  });

  it('ids are UUIDv5 of a canonical name: fixed across releases', () => {
    // A change here changes every seeded id, and a re-run would then apply everything again.
    // RFC 9562's example: "www.example.com" in the DNS namespace.
    expect(nameBasedId('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(idsOf(customers(1, 1))).toEqual([nameBasedId('["shopctl.event","make customers",1,[["locale","en"]]]#0')]);
  });

  it('the generator thread makes the ids a single-threaded run makes', async () => {
    const options = { count: 1200, store: 'online', chunk: 500 };
    const local = idsOf(all(randomPurchaseEvents(createRuntime(9), catalog, options)));
    const threaded: string[] = [];
    for await (const chunk of purchasesInThread({ seed: 9, catalog, options: { ...options, chunk: 100 }, ahead: 2 })) {
      for (const message of chunk.messages) threaded.push(String(message.headers?.ce_id));
    }
    expect(threaded).toEqual(local);
  });
});
