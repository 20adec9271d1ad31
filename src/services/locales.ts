import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Faker } from '@faker-js/faker';
import { englishLocale, type Locale } from '../domain/generators.js';

let names: string[] | null = null;

/** The locales Faker ships (one module per locale; 'base' is the shared fallback, not a locale). */
export function availableLocales(): string[] {
  if (!names) {
    const dir = path.dirname(createRequire(import.meta.url).resolve('@faker-js/faker/locale/en'));
    names = readdirSync(dir)
      .filter((file) => file.endsWith('.cjs'))
      .map((file) => file.slice(0, -'.cjs'.length))
      .filter((name) => name !== 'base')
      .sort();
  }
  return names;
}

export function isLocale(name: string): boolean {
  return availableLocales().includes(name);
}

/** Loads one locale (only that one: all of them together cost ~30 MB). */
export async function loadLocale(name: string): Promise<Locale> {
  if (name === englishLocale.name) return englishLocale;
  if (!isLocale(name)) throw new Error(`unknown locale '${name}'`);
  const module = (await import(`@faker-js/faker/locale/${name}`)) as { faker: Faker };
  return { name, definition: module.faker.rawDefinitions };
}
