import { Command, Option } from 'commander';
import { z } from 'zod';
import { idSchema } from '../domain/events.js';
import { UsageError } from '../errors.js';
import { loadCatalog, randomPurchaseChunks, singlePurchaseEvent } from '../services/buy.js';
import { chunkForRate } from '../services/pump.js';
import { createRuntime } from '../services/runtime.js';
import { examples, flagField, positiveIntField, positiveNumberField, run, seedField, viaField, viaOption } from './shared.js';
import { writeEvents } from './write.js';

export { THREAD_MIN_COUNT } from '../services/buy.js';

export const buyOptionsSchema = z.object({
  random: flagField,
  count: positiveIntField('--count').optional(),
  rate: positiveNumberField('--rate').optional(),
  via: viaField,
  seed: seedField().optional(),
  customer: z.string().optional(),
  product: z.string().optional(),
  quantity: positiveIntField('--quantity').default(1),
  store: z.string().optional(),
  json: flagField,
});
export type BuyOptions = z.infer<typeof buyOptionsSchema>;

export function buyCommand(): Command {
  return new Command('buy')
    .description('simulate purchases: random ones, or one named purchase')
    .option('--random', 'random existing customers buy random existing products')
    .option('-n, --count <n>', 'how many random purchases (default: generate.purchases)')
    .option('--rate <per-second>', 'at most this many purchases per second (default: as fast as possible)')
    .option('--customer <id>', 'the customer who buys (one purchase)')
    .option('--product <sku>', 'the product bought (one purchase)')
    .addOption(new Option('--quantity <n>', 'quantity of the one purchase').default(1))
    .option('--store <id>', 'store the purchase is made in (default: inventory.defaultStore)')
    .addOption(viaOption())
    .option('--seed <n>', 'same seed and same database, same purchases (and the same event ids)')
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
      run(buyOptionsSchema, async (context, options) => {
        const single = options.customer !== undefined || options.product !== undefined;
        if (options.random === single) {
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
          return writeEvents(context, { what: 'purchases', via: options.via, total: 1, chunks: [[event]], json: options.json, repeatable: runtime.seeded });
        }
        const count = options.count ?? context.config.generate.purchases;
        const catalog = await loadCatalog(db, context.config.mongodb.db);
        return writeEvents(context, {
          what: 'purchases',
          via: options.via,
          total: count,
          rate: options.rate,
          chunks: randomPurchaseChunks(runtime, catalog, { count, store, chunk: chunkForRate(options.rate), via: options.via, rate: options.rate }),
          json: options.json,
          repeatable: runtime.seeded,
        });
      }),
    );
}
