import { allLocales } from '@faker-js/faker';
import { describe, expect, it } from 'vitest';
import { customerRegisteredData, productAddedData, validateEvent } from '../../src/domain/events.js';
import { createFaker, generateCustomer, generateProduct, generatePurchase, isLocale } from '../../src/domain/generators.js';
import { customerEvents } from '../../src/services/make.js';
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

  it('a locale changes names: Polish customers have Polish first names', () => {
    const faker = createFaker(3, 'pl');
    const polish = new Set([...(allLocales.pl.person?.first_name?.female ?? []), ...(allLocales.pl.person?.first_name?.male ?? [])]);
    const names = Array.from({ length: 10 }, () => generateCustomer(faker, 'pl').firstName);
    expect(names.every((name) => polish.has(name))).toBe(true);
    expect(isLocale('pl')).toBe(true);
    expect(isLocale('xx_NOPE')).toBe(false);
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
    const ids = (seed: number | null) => [...customerEvents(createRuntime(seed, now), 3, 'en')].flat().map((e) => e.id);
    expect(ids(1)).toEqual(ids(1));
    expect(ids(null)).not.toEqual(ids(null));
    for (const event of [...customerEvents(createRuntime(2, now), 3, 'en')].flat()) expect(validateEvent(event).ok).toBe(true);
  });
});
