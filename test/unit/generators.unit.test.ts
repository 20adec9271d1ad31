import { allLocales } from '@faker-js/faker';
import { describe, expect, it } from 'vitest';
import { customerRegisteredData, productAddedData, validateEvent } from '../../src/domain/events.js';
import { createFaker, englishLocale, generateCustomer, generateProduct, generatePurchase, stockAwareShopper, type PurchaseData } from '../../src/domain/generators.js';
import { randomPurchaseEvents, stockAwarePurchaseEvents, type RunReport, type StockStart } from '../../src/services/buy.js';
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

  describe('stock-aware shoppers (buy --random)', () => {
    const products = Array.from({ length: 12 }, (_, i) => ({ sku: `SKU-${String(i).padStart(2, '0')}`, price: { amount: 100 + i, currency: 'EUR' } }));
    const customers = ['c1', 'c2', 'c3', 'c4'];
    // Some products with plenty, some with a few units, some with none (and one not listed).
    const stock: Array<[string, number]> = products.slice(0, 11).map((p, i) => [p.sku, [0, 1, 3, 40, 200, 7][i % 6]!]);
    const units = stock.reduce((sum, [, n]) => sum + n, 0);
    const drain = (seed: number, quantity = { min: 1, max: 10 }, levels = stock) => {
      const shopper = stockAwareShopper(createFaker(seed), { customers, products, store: 'online', quantity, stock: levels });
      const made: PurchaseData[] = [];
      for (let next = shopper.next(); next; next = shopper.next()) made.push(next);
      return { made, shopper };
    };

    it('never asks for more than the stock it started from, and takes all of it before it stops', () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        const { made, shopper } = drain(seed);
        const taken = new Map<string, number>();
        for (const purchase of made) {
          expect(purchase.quantity).toBeGreaterThanOrEqual(1);
          expect(purchase.quantity).toBeLessThanOrEqual(10);
          expect(customers).toContain(purchase.customerId);
          expect(purchase.unitPrice).toEqual(products.find((p) => p.sku === purchase.sku)!.price);
          taken.set(purchase.sku, (taken.get(purchase.sku) ?? 0) + purchase.quantity);
        }
        for (const [sku, level] of stock) expect(taken.get(sku) ?? 0, sku).toBeLessThanOrEqual(level);
        expect(taken.has('SKU-11')).toBe(false); // not in stock at all
        expect(taken.has('SKU-00')).toBe(false); // level 0
        // With a minimum of 1 it stops only when every unit is sold: the store ran out.
        expect(made.reduce((sum, p) => sum + p.quantity, 0)).toBe(units);
        expect([...shopper.left().values()].every((level) => level === 0)).toBe(true);
        expect(shopper.next()).toBeNull();
      }
    });

    it('is deterministic: the same seed and stock give the same purchases; another stock others', () => {
      expect(drain(7).made).toEqual(drain(7).made);
      expect(drain(7).made).not.toEqual(drain(8).made);
      const more = stock.map(([sku, n]): [string, number] => [sku, n * 2]);
      expect(drain(7, undefined, more).made.slice(0, 50)).not.toEqual(drain(7).made.slice(0, 50));
    });

    it('a fixed --quantity is kept: it stops when no product has that many left', () => {
      const { made, shopper } = drain(3, { min: 5, max: 5 });
      expect(made.length).toBeGreaterThan(0);
      expect(made.every((p) => p.quantity === 5)).toBe(true);
      expect([...shopper.left().values()].every((level) => level >= 0 && level < 5)).toBe(true);
      const ranged = drain(3, { min: 2, max: 3 }).made;
      expect(ranged.every((p) => p.quantity >= 2 && p.quantity <= 3)).toBe(true);
    });

    const catalog = { customers, products };
    const run = (start: StockStart, count: number, report?: RunReport) =>
      [...stockAwarePurchaseEvents(createRuntime(42), catalog, start, { count, store: 'online', chunk: 25 }, report)].flat();
    const fresh: StockStart = { levels: stock, again: false };

    it('seeded runs: stop early with a report; the same start makes the same events, another start other ids', () => {
      const report: RunReport = { made: 0, ranOut: false };
      const all = run(fresh, 10_000, report);
      expect(report).toEqual({ made: all.length, ranOut: true });
      expect(all.length).toBeLessThan(10_000);
      // Run again from the start it recorded (services/buy stockAtStart): the same purchases, the same ids.
      expect(run({ ...fresh, again: true }, 10_000)).toEqual(all.map((event) => ({ ...event, time: expect.any(String) })));
      // Another start (goods received before a first run) draws other purchases: under other ids.
      const restocked: StockStart = { levels: stock.map(([sku, n]) => [sku, n + 1]), again: false };
      expect(run(restocked, 5).map((e) => e.id)).not.toEqual(all.slice(0, 5).map((e) => e.id));
    });

    it('the generator thread makes the same stock-aware purchases and reports where the stock ran out', async () => {
      const local = run(fresh, 10_000);
      const report: RunReport = { made: 0, ranOut: false };
      const ids: unknown[] = [];
      for await (const chunk of purchasesInThread({ seed: 42, catalog, options: { count: 10_000, store: 'online', chunk: 25 }, stock: fresh, ahead: 2, report })) {
        for (const message of chunk.messages) ids.push(message.headers?.ce_id);
      }
      expect(ids).toEqual(local.map((event) => event.id));
      expect(report).toEqual({ made: local.length, ranOut: true });
    });
  });
});
