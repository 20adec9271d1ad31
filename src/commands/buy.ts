import { Command, Option } from 'commander';
import { z } from 'zod';
import { idProblem, STORE_ID_RULE } from '../domain/events.js';
import { DEFAULT_QUANTITY, MAX_SEED, type QuantityRange } from '../domain/generators.js';
import { formatRange, LIMITS } from '../domain/limits.js';
import { ExitCode, UsageError } from '../errors.js';
import { randomRun, singlePurchaseEvent } from '../services/buy.js';
import { createRuntime } from '../services/runtime.js';
import { writeSummaryJson, type WriteSummary } from '../ui/write-summary.js';
import { examples, flagField, positiveIntField, positiveNumberField, run, seedField, viaField, viaOption, withRange } from './shared.js';
import { writeEvents } from './write.js';

export { THREAD_MIN_COUNT } from '../services/buy.js';

/** `--quantity`: one number (`5`), or a range (`1-3`) that random purchases draw from. */
export const quantityField = (name = '--quantity') =>
  z.union([z.string(), z.number()]).transform((raw, ctx): QuantityRange => {
    const text = String(raw).trim();
    const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text);
    const { min: lowest, max: highest } = LIMITS.purchaseQuantity;
    if (match) {
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : Number(match[2]);
      if (min >= lowest && max <= highest && min <= max) return { min, max };
      if (min > max) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${name}: the range '${text}' goes down; write the smaller number first (e.g. ${max}-${min}).` });
        return z.NEVER;
      }
    }
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `${name} must be a whole number or a range of them (e.g. 5 or 1-3) from ${formatRange(LIMITS.purchaseQuantity, ' to ')}, got '${text}'.`,
    });
    return z.NEVER;
  });

export const buyOptionsSchema = z.object({
  random: flagField,
  count: positiveIntField('--count').optional(),
  rate: positiveNumberField('--rate').optional(),
  via: viaField,
  seed: seedField().optional(),
  customer: z.string().optional(),
  product: z.string().optional(),
  quantity: quantityField().optional(),
  includeOutOfStock: flagField,
  store: z.string().optional(),
  json: flagField,
});
export type BuyOptions = z.infer<typeof buyOptionsSchema>;

// Options of one kind of purchase only: giving them with the other kind is a usage error that
// names both (commander's conflicts: exit 2), never silently ignored.
const ONE_PURCHASE = ['customer', 'product'];
const RANDOM_ONLY = ['random', 'count', 'rate', 'includeOutOfStock'];

export function buyCommand(): Command {
  const range = (text: string, limits: { min: number; max: number }) => withRange(text, limits);
  return new Command('buy')
    .description('simulate purchases: random shoppers buying what the store has, or one named purchase')
    .addOption(new Option('--random', 'random existing customers buy random products in stock at the store').conflicts(ONE_PURCHASE))
    .addOption(new Option('-n, --count <n>', range('how many random purchases (default: generate.purchases)', LIMITS.count)).conflicts(ONE_PURCHASE))
    .addOption(new Option('--rate <per-second>', range('at most this many purchases per second (default: as fast as possible)', LIMITS.rate)).conflicts(ONE_PURCHASE))
    .addOption(
      new Option(
        '--include-out-of-stock',
        'random purchases pick from every product, in stock or not (the store refuses what it does not have: to exercise refusals)',
      ).conflicts(ONE_PURCHASE),
    )
    .addOption(new Option('--customer <id>', 'the customer who buys (one purchase, with --product)').conflicts(RANDOM_ONLY))
    .addOption(new Option('--product <sku>', 'the product bought (one purchase, with --customer)').conflicts(RANDOM_ONLY))
    .option(
      '--quantity <n|min-max>',
      withRange(`units per purchase: one purchase takes a number; random ones a number or a range (default: 1 for one purchase, ${DEFAULT_QUANTITY.min}-${DEFAULT_QUANTITY.max} at random)`, LIMITS.purchaseQuantity),
    )
    .option('--store <id>', 'store the purchases are made in (default: inventory.defaultStore)')
    .addOption(viaOption())
    .option('--seed <n>', withRange('same seed and same database, same purchases (and the same event ids)', { min: 0, max: MAX_SEED }))
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Random purchases buy what the store has: the stock levels are read once at the start, and each
purchase is taken from a running model of them, so that a run never asks for more than there is.
When no product has stock left the run stops early and says so (exit 0). With
--include-out-of-stock, purchases pick from every product and the store refuses what it lacks.
${examples(
  'shopctl buy --random --count 10000 --via kafka',
  'shopctl buy --random --count 600 --rate 50 --quantity 1-3 --via kafka',
  'shopctl buy --random --count 500 --include-out-of-stock --via db',
  'shopctl buy --customer 1f0c…-uuid --product SKU-4F7QX2AB --quantity 2 --via db',
)}`,
    )
    .action(
      run(buyOptionsSchema, async (context, options) => {
        const single = options.customer !== undefined || options.product !== undefined;
        if (!options.random && !single) {
          throw new UsageError('Say what to buy: either --random, or --customer ID --product SKU', {
            suggestion: 'See `shopctl buy --help` for examples.',
          });
        }
        if (single && (!options.customer || !options.product)) {
          throw new UsageError(`One purchase needs both --customer and --product (only ${options.customer ? '--customer' : '--product'} was given)`);
        }
        if (single && options.quantity && options.quantity.min !== options.quantity.max) {
          throw new UsageError(`--quantity: a range ('${options.quantity.min}-${options.quantity.max}') is for --random purchases; one purchase (--customer, --product) takes one number`);
        }
        const store = options.store ?? context.config.inventory.defaultStore;
        const storeProblem = idProblem(store, 'store');
        if (storeProblem) throw new UsageError(`--store: ${JSON.stringify(store)} is not a valid store id: ${storeProblem} (${STORE_ID_RULE})`);
        const seed = options.seed ?? context.config.generate.seed ?? null;
        const runtime = createRuntime(seed);
        const { db } = await context.database();
        if (options.customer && options.product) {
          const event = await singlePurchaseEvent(db, runtime, {
            customerId: options.customer,
            sku: options.product,
            quantity: options.quantity?.min ?? 1,
            store,
          });
          return writeEvents(context, { what: 'purchases', via: options.via, total: 1, chunks: [[event]], json: options.json, repeatable: runtime.seeded });
        }
        const count = options.count ?? context.config.generate.purchases;
        const quantity = options.quantity;
        const { chunks, report, stockAware } = await randomRun(db, context.config.mongodb.db, runtime, {
          count,
          store,
          quantity,
          includeOutOfStock: options.includeOutOfStock,
          via: options.via,
          rate: options.rate,
        });
        // Made: the purchases the sink took (a chunk made ahead and dropped on Ctrl-C is not).
        const outcome = (summary: WriteSummary) => {
          const made = summary.count + summary.duplicates + summary.rejected.length + summary.conflicts.length;
          return { requested: count, made, ...(stockAware ? { stockAware: true, ranOut: report.ranOut && !summary.interrupted, store } : { stockAware: false }) };
        };
        const code = await writeEvents(context, {
          what: 'purchases',
          via: options.via,
          total: count,
          rate: options.rate,
          chunks,
          json: options.json,
          repeatable: runtime.seeded,
          toJson: (summary) => ({ ...writeSummaryJson(summary), ...outcome(summary) }),
        });
        if (report.ranOut && code !== ExitCode.interrupted) {
          const said = `stock ran out at store '${store}' after ${report.made.toLocaleString('en-US')} of ${count.toLocaleString('en-US')} purchases`;
          context.output.warn(`${said}: no product there has ${quantity && quantity.min > 1 ? `${quantity.min} units` : 'a unit'} left`);
          context.output.info('  hint: receive goods to buy more, or add --include-out-of-stock to make purchases the store will refuse');
        }
        return code;
      }),
    );
}
