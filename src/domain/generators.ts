import type { Faker, LocaleDefinition } from '@faker-js/faker';
import { faker as english } from '@faker-js/faker/locale/en';
import type { z } from 'zod';
import type { customerRegisteredData, productAddedData, purchaseMadeData, storeDefinedData } from './events.js';
import type { Money } from './money.js';

export type CustomerData = z.infer<typeof customerRegisteredData>;
export type ProductData = z.infer<typeof productAddedData>;
export type PurchaseData = z.infer<typeof purchaseMadeData>;
export type StoreData = z.infer<typeof storeDefinedData>;

/** A Faker locale by name, with its definitions (English fills what a locale lacks). */
export interface Locale {
  name: string;
  definition: LocaleDefinition;
}

export const englishLocale: Locale = { name: 'en', definition: english.rawDefinitions };

// The Faker class, taken from the English instance: importing '@faker-js/faker' itself loads all
// of its 70-odd locales (~30 MB of memory and ~0.1 s for every command that generates data).
const FakerClass = english.constructor as typeof Faker;

/**
 * The largest seed: Faker's generator (a Mersenne Twister) keeps 32 bits of its seed, so
 * 4294967297 would make exactly the data 1 makes. Larger seeds are refused, not wrapped.
 */
export const MAX_SEED = 2 ** 32 - 1;

/** A faker seeded by the caller; `seed` is required so that the domain never draws its own randomness. */
export function createFaker(seed: number, locale: Locale = englishLocale): Faker {
  const faker = new FakerClass({ locale: locale.definition });
  faker.seed(seed);
  return faker;
}

/** `customerId` is given by a caller whose ids must not repeat across seeds and locales (make). */
export function generateCustomer(faker: Faker, locale: string, customerId?: string): CustomerData {
  const firstName = faker.person.firstName();
  const lastName = faker.person.lastName();
  return {
    customerId: customerId ?? faker.string.uuid(),
    firstName,
    lastName,
    email: faker.internet.email({ firstName, lastName, provider: 'example.com' }).toLowerCase(),
    address: {
      street: faker.location.streetAddress(),
      city: faker.location.city(),
      postalCode: faker.location.zipCode(),
      country: faker.location.country(),
    },
    locale,
  };
}

export function generateProduct(faker: Faker, currency: string, taken: Set<string>): ProductData {
  let sku: string;
  do {
    sku = `SKU-${faker.string.alphanumeric({ length: 8, casing: 'upper' })}`;
  } while (taken.has(sku));
  taken.add(sku);
  return {
    sku,
    name: faker.commerce.productName(),
    category: faker.commerce.department(),
    price: { amount: faker.number.int({ min: 99, max: 99_999 }), currency },
  };
}

/**
 * A store or warehouse with every field: an id (`WH-` and 6 letters or digits, unique within
 * `taken`), a capacity in units (10,000 to 500,000, in thousands), and a city with its latitude
 * and longitude (4 decimals). Deterministic for a seeded faker.
 */
export function generateStore(faker: Faker, taken: Set<string>): Required<StoreData> {
  let store: string;
  do {
    store = `WH-${faker.string.alphanumeric({ length: 6, casing: 'upper' })}`;
  } while (taken.has(store));
  taken.add(store);
  return {
    store,
    capacity: faker.number.int({ min: 10, max: 500 }) * 1000,
    lat: faker.location.latitude({ precision: 4 }),
    lon: faker.location.longitude({ precision: 4 }),
    city: faker.location.city(),
  };
}

export interface CatalogEntry {
  sku: string;
  price: Money;
}

/** The quantities of random purchases: from min to max units, both included. */
export interface QuantityRange {
  min: number;
  max: number;
}

/** What a random purchase's quantity is drawn from when none is asked for. */
export const DEFAULT_QUANTITY: Readonly<QuantityRange> = { min: 1, max: 10 };

export interface RandomPurchaseOptions {
  customers: readonly string[];
  products: readonly CatalogEntry[];
  store: string;
  /** Default 1 to `maxQuantity` (default 10). */
  quantity?: QuantityRange;
  maxQuantity?: number;
}

/** A purchase of any product, whatever is in stock (the store may refuse it). */
export function generatePurchase(faker: Faker, options: RandomPurchaseOptions): PurchaseData {
  const product = faker.helpers.arrayElement(options.products);
  const quantity = options.quantity ?? { min: DEFAULT_QUANTITY.min, max: options.maxQuantity ?? DEFAULT_QUANTITY.max };
  return {
    customerId: faker.helpers.arrayElement(options.customers),
    sku: product.sku,
    store: options.store,
    quantity: faker.number.int(quantity),
    unitPrice: { ...product.price },
  };
}

export interface ShopperOptions {
  customers: readonly string[];
  products: readonly CatalogEntry[];
  store: string;
  quantity: QuantityRange;
  /** Units of each SKU at the store when the run starts (a SKU not listed has none). */
  stock: Iterable<readonly [string, number]>;
}

/**
 * Random shoppers who buy what the store has: one purchase at a time, of a product with at least
 * `quantity.min` units left in a running model of the store's stock (decremented by every
 * purchase made), so that one run never asks for more than the stock it started from. A drawn
 * quantity above what is left is cut to what is left (never below `quantity.min`).
 */
export interface Shopper {
  /** The next purchase, or null when no product has `quantity.min` units left (nothing is drawn then). */
  next(): PurchaseData | null;
  /** Units left in the model, per SKU (those of the catalogue). */
  left(): Map<string, number>;
}

export function stockAwareShopper(faker: Faker, options: ShopperOptions): Shopper {
  const { customers, products, store, quantity } = options;
  const levels = new Map<string, number>();
  for (const [sku, units] of options.stock) levels.set(sku, units);
  // The products that can be bought, by index into `products`: removed (swapped with the last)
  // once fewer than `quantity.min` units are left. The order is that of the catalogue, then of
  // the removals: the same for the same seed and stock.
  const available: number[] = [];
  const slot = new Map<number, number>();
  const level = (index: number): number => levels.get(products[index]!.sku) ?? 0;
  products.forEach((_, index) => {
    if (level(index) >= quantity.min) {
      slot.set(index, available.length);
      available.push(index);
    }
  });
  const take = (index: number, units: number): void => {
    const sku = products[index]!.sku;
    levels.set(sku, (levels.get(sku) ?? 0) - units);
    const at = slot.get(index);
    if (at === undefined || level(index) >= quantity.min) return;
    const last = available.pop()!;
    slot.delete(index);
    if (last !== index) {
      available[at] = last;
      slot.set(last, at);
    }
  };
  // Exactly three draws per purchase, whatever the sizes (Faker's int() and arrayElement() draw
  // nothing when there is one choice).
  const pick = (draw: number, size: number): number => Math.min(size - 1, Math.floor(draw * size));
  return {
    next() {
      if (available.length === 0) return null;
      const draws = [faker.number.float(), faker.number.float(), faker.number.float()] as const;
      const index = available[pick(draws[1], available.length)]!;
      const product = products[index]!;
      const wanted = quantity.min + pick(draws[2], quantity.max - quantity.min + 1);
      const units = Math.min(wanted, level(index));
      take(index, units);
      return {
        customerId: customers[pick(draws[0], customers.length)]!,
        sku: product.sku,
        store,
        quantity: units,
        unitPrice: { ...product.price },
      };
    },
    left: () => new Map(products.map((product) => [product.sku, levels.get(product.sku) ?? 0])),
  };
}
