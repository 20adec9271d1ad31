import type { Faker, LocaleDefinition } from '@faker-js/faker';
import { faker as english } from '@faker-js/faker/locale/en';
import type { z } from 'zod';
import type { customerRegisteredData, productAddedData, purchaseMadeData } from './events.js';
import type { Money } from './money.js';

export type CustomerData = z.infer<typeof customerRegisteredData>;
export type ProductData = z.infer<typeof productAddedData>;
export type PurchaseData = z.infer<typeof purchaseMadeData>;

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

export interface CatalogEntry {
  sku: string;
  price: Money;
}

export interface RandomPurchaseOptions {
  customers: readonly string[];
  products: readonly CatalogEntry[];
  store: string;
  maxQuantity?: number;
}

export function generatePurchase(faker: Faker, options: RandomPurchaseOptions): PurchaseData {
  const product = faker.helpers.arrayElement(options.products);
  return {
    customerId: faker.helpers.arrayElement(options.customers),
    sku: product.sku,
    store: options.store,
    quantity: faker.number.int({ min: 1, max: options.maxQuantity ?? 10 }),
    unitPrice: { ...product.price },
  };
}
