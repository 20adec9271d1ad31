import { allLocales } from '@faker-js/faker';
import { describe, expect, it } from 'vitest';
import { customerRegisteredData, productAddedData, validateEvent } from '../../src/domain/events.js';
import { createFaker, englishLocale, generateCustomer, generateProduct, generatePurchase } from '../../src/domain/generators.js';
import { randomPurchaseEvents } from '../../src/services/buy.js';
import { availableLocales, isLocale, loadLocale } from '../../src/services/locales.js';
import { customerEvents } from '../../src/services/make.js';
import { purchasesInThread } from '../../src/services/purchase-thread.js';
import { createRuntime } from '../../src/services/runtime.js';

describe('generators', () => {
  it('the same seed gives the same customers, another seed others', () => {
    const a = Array.from({ length: 5 }, ((f) => () => generateCustomer(f, 'en'))(createFaker(7)));
    const b = Array.from({ length: 5 }, ((f) => () => generateCustomer(f, 'en'))(createFaker(7)));
    const c = Array.from({ length: 5 }, ((f) => () => generateCustomer(f, 'en'))(createFaker(8)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const customer of a) expect(customerRegisteredData.safeParse(customer).success).toBe(true);
  });

  it('a locale changes names: Polish customers have Polish first names', async () => {
    const faker = createFaker(3, await loadLocale('pl'));
    const polish = new Set([...(allLocales.pl.person?.first_name?.female ?? []), ...(allLocales.pl.person?.first_name?.male ?? [])]);
    const names = Array.from({ length: 10 }, () => generateCustomer(faker, 'pl').firstName);
    expect(names.every((name) => polish.has(name))).toBe(true);
    expect(isLocale('pl')).toBe(true);
    expect(isLocale('xx_NOPE')).toBe(false);
    expect(availableLocales()).toEqual(Object.keys(allLocales).filter((name) => name !== 'base').sort());
    await expect(loadLocale('xx_NOPE')).rejects.toThrow("unknown locale 'xx_NOPE'");
  });

  it('products have unique SKUs and integer prices in minor units', () => {
    const faker = createFaker(1);
    const taken = new Set<string>();
    const products = Array.from({ length: 300 }, () => generateProduct(faker, 'EUR', taken));
    expect(new Set(products.map((p) => p.sku)).size).toBe(300);
    for (const product of products) {
      expect(Number.isInteger(product.price.amount)).toBe(true);
      expect(productAddedData.safeParse(product).success).toBe(true);
    }
  });

  it('purchases pick existing customers and products, quantity 1..10, at the product price', () => {
    const faker = createFaker(5);
    const products = [
      { sku: 'SKU-A', price: { amount: 100, currency: 'EUR' } },
      { sku: 'SKU-B', price: { amount: 999, currency: 'EUR' } },
    ];
    for (let i = 0; i < 200; i += 1) {
      const purchase = generatePurchase(faker, { customers: ['c1', 'c2'], products, store: 'online' });
      expect(['c1', 'c2']).toContain(purchase.customerId);
      expect(purchase.quantity).toBeGreaterThanOrEqual(1);
      expect(purchase.quantity).toBeLessThanOrEqual(10);
      expect(purchase.unitPrice).toEqual(products.find((p) => p.sku === purchase.sku)!.price);
    }
  });

  it('a seeded run produces the same event ids; an unseeded one fresh ids', () => {
    const now = () => new Date('2026-01-01T00:00:00Z');
    const ids = (seed: number | null) => [...customerEvents(createRuntime(seed, now), 3, englishLocale)].flat().map((e) => e.id);
    expect(ids(1)).toEqual(ids(1));
    expect(ids(null)).not.toEqual(ids(null));
    for (const event of [...customerEvents(createRuntime(2, now), 3, englishLocale)].flat()) expect(validateEvent(event).ok).toBe(true);
  });

  const catalog = {
    customers: ['c1', 'c2', 'c3'],
    products: [
      { sku: 'SKU-A', price: { amount: 100, currency: 'EUR' } },
      { sku: 'SKU-B', price: { amount: 999, currency: 'EUR' } },
    ],
  };

  it('random purchases are valid events without being parsed on the way', () => {
    const events = [...randomPurchaseEvents(createRuntime(11), catalog, { count: 500, store: 'online', chunk: 100, maxQuantity: 3 })].flat();
    expect(events).toHaveLength(500);
    for (const event of events) {
      const result = validateEvent(JSON.parse(JSON.stringify(event)));
      expect(result).toEqual({ ok: true, event });
    }
  });

  it('the generator thread makes the same purchases as the in-process generator, in order', async () => {
    const options = { count: 2500, store: 'online', chunk: 1000 };
    const local = [...randomPurchaseEvents(createRuntime(21), catalog, options)].flat();
    const threaded: Array<{ key: unknown; value: unknown; id: unknown }> = [];
    // Both read the real clock (a seed fixes ids and data, not time): each thread event's time is
    // its own, taken while the thread ran, in the format of the envelope, never going back.
    const started = Date.now();
    for await (const chunk of purchasesInThread({ seed: 21, catalog, options, ahead: 2 })) {
      expect(chunk.stream).toBe('inventory');
      for (const message of chunk.messages) threaded.push({ key: message.key, value: JSON.parse(String(message.value)), id: message.headers?.ce_id });
    }
    const ended = Date.now();
    expect(threaded).toHaveLength(local.length);
    let previous = started;
    threaded.forEach((message, index) => {
      const event = local[index]!;
      expect(message.id).toBe(event.id);
      const { store, sku } = event.data as { store: string; sku: string };
      expect(message.key).toBe(`${store}:${sku}`);
      const { time, ...rest } = message.value as { time: string };
      const { time: localTime, ...expected } = event;
      expect(rest).toEqual(expected);
      expect(Object.keys(message.value as object).sort()).toEqual(Object.keys(event).sort());
      expect(new Date(time).toISOString()).toBe(time);
      expect(new Date(localTime).toISOString()).toBe(localTime);
      const at = Date.parse(time);
      expect(at).toBeGreaterThanOrEqual(previous);
      expect(at).toBeLessThanOrEqual(ended);
      previous = at;
    });
  });

  it('stopping early stops the generator thread', async () => {
    const workers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Worker' || kind === 'MessagePort').length;
    const before = workers();
    let seen = 0;
    for await (const chunk of purchasesInThread({ seed: null, catalog, options: { count: 1_000_000, store: 'online', chunk: 1000 }, ahead: 2 })) {
      seen += chunk.messages.length;
      if (seen >= 3000) break;
    }
    expect(seen).toBe(3000);
    expect(workers()).toBe(before);
  });
});
