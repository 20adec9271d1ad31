import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { isLocale, loadLocale } from '../services/locales.js';
import { customerEvents, productEvents } from '../services/make.js';
import { createRuntime } from '../services/runtime.js';
import { examples, nonNegativeInt, positiveInt, run, viaOption, type Via } from './shared.js';
import { writeEvents } from './write.js';

interface MakeOptions {
  count?: number;
  stock?: number;
  via: Via;
  seed?: number;
  locale?: string;
  json?: boolean;
}

export function makeCommand(): Command {
  const make = new Command('make').description('generate customers or products with Faker');

  make
    .command('customers')
    .description('register Faker customers (id, name, email, address)')
    .option('-n, --count <n>', 'how many (default: generate.customers)', positiveInt('--count'))
    .addOption(viaOption())
    .option('--seed <n>', 'same seed, same customers (and the same event ids)', nonNegativeInt('--seed'))
    .option('--locale <locale>', "Faker locale for names and addresses, e.g. pl, de, fr (default: generate.locale)")
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', examples('shopctl make customers --count 500 --via kafka', 'shopctl make customers --count 20 --locale pl --seed 7'))
    .action(
      run<MakeOptions>(async (context, options) => {
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
          json: Boolean(options.json),
        });
      }),
    );

  make
    .command('products')
    .description('add Faker products (sku, name, category, price in minor units)')
    .option('-n, --count <n>', 'how many (default: generate.products)', positiveInt('--count'))
    .addOption(viaOption())
    .option('--seed <n>', 'same seed, same products (and the same event ids)', nonNegativeInt('--seed'))
    .option('--stock <n>', 'goods received per product at the default store (default: inventory.initialStock; 0 for none)', nonNegativeInt('--stock'))
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      examples('shopctl make products --count 200 --via db', 'shopctl make products --count 50 --seed 42 --stock 0 --via kafka'),
    )
    .action(
      run<MakeOptions>(async (context, options) => {
        const { generate } = context.config;
        const count = options.count ?? generate.products;
        const runtime = createRuntime(options.seed ?? generate.seed);
        const { defaultStore, initialStock } = context.config.inventory;
        const stock = options.stock ?? initialStock;
        return writeEvents(context, {
          what: stock > 0 ? `events (${count} products, each with ${stock} received at '${defaultStore}')` : 'products',
          via: options.via,
          total: stock > 0 ? count * 2 : count,
          chunks: productEvents(runtime, count, generate.currency, { store: defaultStore, quantity: stock }),
          json: Boolean(options.json),
        });
      }),
    );

  return make;
}
