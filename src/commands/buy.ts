import { Command } from 'commander';
import { idSchema } from '../domain/events.js';
import { UsageError } from '../errors.js';
import { loadCatalog, randomPurchaseEvents, singlePurchaseEvent } from '../services/buy.js';
import { purchasesInThread } from '../services/purchase-thread.js';
import { chunkForRate } from '../services/pump.js';
import { createRuntime } from '../services/runtime.js';
import { examples, nonNegativeInt, positiveInt, positiveNumber, run, viaOption, type Via } from './shared.js';
import { writeEvents } from './write.js';

/** From this many purchases on, `buy --via kafka` makes them on a second thread (start-up ~0.1 s). */
export const THREAD_MIN_COUNT = 20_000;

interface BuyOptions {
  random?: boolean;
  count?: number;
  rate?: number;
  via: Via;
  seed?: number;
  customer?: string;
  product?: string;
  quantity: number;
  store?: string;
  json?: boolean;
}

export function buyCommand(): Command {
  return new Command('buy')
    .description('simulate purchases: random ones, or one named purchase')
    .option('--random', 'random existing customers buy random existing products')
    .option('-n, --count <n>', 'how many random purchases (default: generate.purchases)', positiveInt('--count'))
    .option('--rate <per-second>', 'at most this many purchases per second (default: as fast as possible)', positiveNumber('--rate'))
    .option('--customer <id>', 'the customer who buys (one purchase)')
    .option('--product <sku>', 'the product bought (one purchase)')
    .option('--quantity <n>', 'quantity of the one purchase', positiveInt('--quantity'), 1)
    .option('--store <id>', 'store the purchase is made in (default: inventory.defaultStore)')
    .addOption(viaOption())
    .option('--seed <n>', 'same seed and same database, same purchases (and the same event ids)', nonNegativeInt('--seed'))
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      examples(
        'shopctl buy --random --count 10000 --via kafka',
        'shopctl buy --random --count 600 --rate 50 --via kafka',
        'shopctl buy --customer 1f0c…-uuid --product SKU-4F7QX2AB --quantity 2 --via db',
      ),
    )
    .action(
      run<BuyOptions>(async (context, options) => {
        const single = options.customer !== undefined || options.product !== undefined;
        if (Boolean(options.random) === single) {
          throw new UsageError('Say what to buy: either --random, or --customer ID --product SKU', {
            suggestion: 'See `shopctl buy --help` for examples.',
          });
        }
        const store = options.store ?? context.config.inventory.defaultStore;
        if (!idSchema.safeParse(store).success) throw new UsageError(`--store: '${store}' is not a valid store id (letters, digits, _ and -)`);
        const seed = options.seed ?? context.config.generate.seed ?? null;
        const runtime = createRuntime(seed);
        const { db } = await context.database();
        if (single) {
          if (!options.customer || !options.product) throw new UsageError('One purchase needs both --customer and --product');
          const event = await singlePurchaseEvent(db, runtime, {
            customerId: options.customer,
            sku: options.product,
            quantity: options.quantity,
            store,
          });
          return writeEvents(context, { what: 'purchases', via: options.via, total: 1, chunks: [[event]], json: Boolean(options.json) });
        }
        const count = options.count ?? context.config.generate.purchases;
        const catalog = await loadCatalog(db, context.config.mongodb.db);
        const generation = { count, store, chunk: chunkForRate(options.rate) };
        // A large unpaced run to Kafka makes its purchases on a second thread (the same ones);
        // on the db path MongoDB is the bottleneck, and a paced run has time to spare.
        const threaded = options.via === 'kafka' && options.rate === undefined && count >= THREAD_MIN_COUNT;
        return writeEvents(context, {
          what: 'purchases',
          via: options.via,
          total: count,
          rate: options.rate,
          chunks: threaded
            ? purchasesInThread({ seed, catalog, options: generation, ahead: 4 })
            : randomPurchaseEvents(runtime, catalog, generation),
          json: Boolean(options.json),
        });
      }),
    );
}
