import { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { isLocale, loadLocale } from '../services/locales.js';
import { customerEvents, productEvents, storeEvents } from '../services/make.js';
import { createRuntime } from '../services/runtime.js';
import { LIMITS } from '../domain/limits.js';
import { MAX_SEED } from '../domain/generators.js';
import { examples, flagField, intField, run, seedField, viaField, viaOption, withRange } from './shared.js';
import { writeEvents } from './write.js';

export const makeCustomersOptionsSchema = z.object({
  count: intField('--count', LIMITS.count).optional(),
  via: viaField,
  seed: seedField().optional(),
  locale: z.string().optional(),
  json: flagField,
});
export type MakeCustomersOptions = z.infer<typeof makeCustomersOptionsSchema>;

export const makeProductsOptionsSchema = z.object({
  count: intField('--count', LIMITS.count).optional(),
  via: viaField,
  seed: seedField().optional(),
  stock: intField('--stock', LIMITS.stock).optional(),
  json: flagField,
});
export type MakeProductsOptions = z.infer<typeof makeProductsOptionsSchema>;

export const makeStoresOptionsSchema = z.object({
  count: intField('--count', LIMITS.count).default(5),
  via: viaField,
  seed: seedField().optional(),
  json: flagField,
});
export type MakeStoresOptions = z.infer<typeof makeStoresOptionsSchema>;

export function makeCommand(): Command {
  const make = new Command('make').description('generate customers, products or stores with Faker');

  make
    .command('customers')
    .description('register Faker customers (id, name, email, address)')
    .option('-n, --count <n>', withRange('how many (default: generate.customers)', LIMITS.count))
    .addOption(viaOption())
    .option('--seed <n>', withRange('same seed, same customers (and the same event ids)', { min: 0, max: MAX_SEED }))
    .option('--locale <locale>', "Faker locale for names and addresses, e.g. pl, de, fr (default: generate.locale)")
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', examples('shopctl make customers --count 500 --via kafka', 'shopctl make customers --count 20 --locale pl --seed 7'))
    .action(
      run(makeCustomersOptionsSchema, async (context, options) => {
        const { generate } = context.config;
        const locale = options.locale ?? generate.locale;
        if (!isLocale(locale)) {
          throw new UsageError(`Unknown locale '${locale}'`, { suggestion: 'Use a Faker locale such as en, en_US, pl, de, fr, es, it, ja.' });
        }
        const count = options.count ?? generate.customers;
        const runtime = createRuntime(options.seed ?? generate.seed);
        return writeEvents(context, {
          what: 'customers',
          via: options.via,
          total: count,
          chunks: customerEvents(runtime, count, await loadLocale(locale)),
          json: options.json,
          repeatable: runtime.seeded,
        });
      }),
    );

  make
    .command('products')
    .description('add Faker products (sku, name, category, price in minor units)')
    .option('-n, --count <n>', withRange('how many (default: generate.products)', LIMITS.count))
    .addOption(viaOption())
    .option('--seed <n>', withRange('same seed, same products (and the same event ids)', { min: 0, max: MAX_SEED }))
    .option('--stock <n>', withRange('goods received per product at the default store (default: inventory.initialStock; 0 for none)', LIMITS.stock))
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      examples('shopctl make products --count 200 --via db', 'shopctl make products --count 50 --seed 42 --stock 0 --via kafka'),
    )
    .action(
      run(makeProductsOptionsSchema, async (context, options) => {
        const { generate } = context.config;
        const count = options.count ?? generate.products;
        const runtime = createRuntime(options.seed ?? generate.seed);
        const { defaultStore, initialStock } = context.config.inventory;
        const stock = options.stock ?? initialStock;
        // Each product is one event, plus one for its goods received when --stock is above 0.
        const perProduct = stock > 0 ? 2 : 1;
        return writeEvents(context, {
          what: stock > 0 ? `events (${count} products, each with ${stock} received at '${defaultStore}')` : 'products',
          via: options.via,
          total: count * perProduct,
          chunks: productEvents(runtime, count, generate.currency, { store: defaultStore, quantity: stock }),
          json: options.json,
          repeatable: runtime.seeded,
          // --json counts products as products; `events` says how many events that was.
          toJson: (summary) => ({
            ...summary,
            what: 'products',
            count: Math.floor(summary.count / perProduct),
            duplicates: Math.floor(summary.duplicates / perProduct),
            // Interrupted (Ctrl-C, SIGTERM): the products it meant to make.
            ...(summary.total === undefined ? {} : { total: Math.floor(summary.total / perProduct) }),
            events: { written: summary.count, duplicates: summary.duplicates },
            stock: { store: defaultStore, quantity: stock },
          }),
        });
      }),
    );

  make
    .command('stores')
    .description('define Faker stores/warehouses: an id (WH-…), a capacity in units, a city with its latitude and longitude (`report capacity` shows them)')
    .option('-n, --count <n>', withRange('how many (default 5)', LIMITS.count))
    .addOption(viaOption())
    .option('--seed <n>', withRange('same seed, same stores (ids and values) and the same event ids', { min: 0, max: MAX_SEED }))
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', examples('shopctl make stores --count 5 --seed 7', 'shopctl make stores --count 20 --via kafka'))
    .action(
      run(makeStoresOptionsSchema, async (context, options) => {
        const runtime = createRuntime(options.seed ?? context.config.generate.seed);
        return writeEvents(context, {
          what: 'stores',
          via: options.via,
          total: options.count,
          chunks: storeEvents(runtime, options.count),
          json: options.json,
          repeatable: runtime.seeded,
        });
      }),
    );

  return make;
}
