import { Command } from 'commander';
import { z } from 'zod';
import { createEvent, ID_RULE, idProblem, STORE_ID_RULE, type ShopEvent } from '../domain/events.js';
import { LIMITS } from '../domain/limits.js';
import { UsageError } from '../errors.js';
import { context as eventContext } from '../services/make.js';
import { inCatalogue } from '../services/stock.js';
import { createRuntime } from '../services/runtime.js';
import type { Context } from '../services/context.js';
import { examples, flagField, intField, run, viaField, viaOption, withRange } from './shared.js';
import { writeEvents } from './write.js';

// --sku (and --quantity or --level) are required by commander, which names what is missing.
const stockChangeOptions = z.object({
  store: z.string().optional(),
  sku: z.string(),
  via: viaField,
  json: flagField,
});
export const stockReceiveOptionsSchema = stockChangeOptions.extend({ quantity: intField('--quantity', LIMITS.stockQuantity) });
export const stockSellOptionsSchema = stockReceiveOptionsSchema;
export const stockCountOptionsSchema = stockChangeOptions.extend({ level: intField('--level', LIMITS.level) });
type StockChangeOptions = z.infer<typeof stockChangeOptions>;

/** The id a flag gives (surrounding spaces dropped, as a CSV import drops them), or a usage error naming the rule. */
function idOf(value: string, flag: string, kind: 'id' | 'store'): string {
  const id = value.trim();
  const problem = idProblem(id, kind);
  if (problem) throw new UsageError(`${flag}: '${value}' is not a valid ${kind === 'store' ? 'store id' : 'SKU'}: ${problem}`, { suggestion: `An id has ${kind === 'store' ? STORE_ID_RULE : ID_RULE}.` });
  return id;
}

async function writeOne(context: Context, options: StockChangeOptions, build: (store: string, sku: string) => ShopEvent): Promise<number> {
  const store = idOf(options.store ?? context.config.inventory.defaultStore, '--store', 'store');
  const sku = idOf(options.sku, '--sku', 'id');
  // Stock can be recorded for a SKU the catalogue does not have (the stock manager's import
  // creates items on first receipt): accepted, with a warning. The catalogue is in MongoDB, so
  // only --via db (connected anyway) looks; --via kafka needs no database and does not.
  if (options.via === 'db' && !(await inCatalogue((await context.database()).db, sku))) {
    context.output.warn(`${sku} is not in the catalogue: stock is recorded for it all the same (\`shopctl list stock\` marks it)`);
  }
  const event = build(store, sku);
  return writeEvents(context, { what: 'stock changes', via: options.via, total: 1, chunks: [[event]], json: options.json });
}

function stockSubcommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--store <id>', 'store or warehouse (default: inventory.defaultStore)')
    .requiredOption('--sku <sku>', 'the item')
    .addOption(viaOption())
    .option('--json', 'print the summary as JSON');
}

export function stockCommand(): Command {
  const stock = new Command('stock').description('record goods received, sales and stock counts for one store and SKU');
  // A stock change is a fact of its own each time it is recorded (two receipts of 5 are 10): random ids.
  const fields = (kind: string) => {
    const runtime = createRuntime(null);
    return eventContext(runtime, runtime.ids(kind)());
  };

  stock.addCommand(
    stockSubcommand('receive', 'goods received: the level goes up')
      .requiredOption('--quantity <n>', withRange('units received', LIMITS.stockQuantity))
      .addHelpText('after', examples('shopctl stock receive --store berlin --sku SKU-4F7QX2AB --quantity 40 --via kafka'))
      .action(
        run(stockReceiveOptionsSchema, (context, options) =>
          writeOne(context, options, (store, sku) =>
            createEvent('shop.stock.received.v1', { store, sku, quantity: options.quantity }, fields('stock receive')),
          ),
        ),
      ),
  );
  stock.addCommand(
    stockSubcommand('sell', 'a sale at the store: the level goes down, never below zero')
      .requiredOption('--quantity <n>', withRange('units sold', LIMITS.stockQuantity))
      .addHelpText('after', examples('shopctl stock sell --store berlin --sku SKU-4F7QX2AB --quantity 3 --via db'))
      .action(
        run(stockSellOptionsSchema, (context, options) =>
          writeOne(context, options, (store, sku) =>
            createEvent('shop.stock.sold.v1', { store, sku, quantity: options.quantity }, fields('stock sell')),
          ),
        ),
      ),
  );
  stock.addCommand(
    stockSubcommand('count', 'a stock count: sets the absolute level (kept in the history)')
      .requiredOption('--level <n>', withRange('units counted on the shelf', LIMITS.level))
      .addHelpText('after', examples('shopctl stock count --store berlin --sku SKU-4F7QX2AB --level 37'))
      .action(
        run(stockCountOptionsSchema, (context, options) =>
          writeOne(context, options, (store, sku) =>
            createEvent('shop.stock.counted.v1', { store, sku, level: options.level }, fields('stock count')),
          ),
        ),
      ),
  );
  return stock;
}
