import { Command, Option } from 'commander';
import { z } from 'zod';
import type { ProductView } from '../domain/documents.js';
import { formatDuration } from '../domain/availability.js';
import { formatMoney } from '../domain/money.js';
import { stockStatus, type StockStatus } from '../domain/stock-level.js';
import type { Context } from '../services/context.js';
import {
  countOf,
  customerSorts,
  listCustomers,
  listProducts,
  listPurchases,
  productSorts,
  purchaseSorts,
  type CustomerRow,
  type PurchaseRow,
} from '../services/read.js';
import { stockView, noStockMessage, type AvailableRow, type GlobalStockRow } from '../services/stock.js';
import { whileReading } from '../ui/progress.js';
import { renderTable, shortTime, type Column } from '../ui/table.js';
import { availableCell, freshnessLabel, renderDropping, staleNote } from '../ui/stores.js';
import { examples, flagField, positiveIntField, rangeHelp, run } from './shared.js';
import { customerJson, globalJson, productJson, purchaseJson, stockJson } from '../ui/rows.js';

const sortsOf = <S extends string>(sorts: Record<S, unknown>): [S, ...S[]] => Object.keys(sorts) as [S, ...S[]];

/** `list customers|products|purchases`: one schema per subcommand, for its sort orders. */
export const listOptionsSchema = <S extends string>(sorts: readonly [S, ...S[]], defaultSort: S) =>
  z.object({
    limit: positiveIntField('--limit').default(20),
    sort: z.enum(sorts).default(defaultSort),
    json: flagField,
  });

export const listPurchasesOptionsSchema = listOptionsSchema(sortsOf(purchaseSorts), 'latest').extend({ customer: z.string().optional() });

// --global sums over stores: a store filter or a per-store threshold would be silently ignored.
export const listStockOptionsSchema = z
  .object({
    store: z.string().optional(),
    sku: z.string().optional(),
    low: flagField,
    global: flagField,
    limit: positiveIntField('--limit').default(50),
    json: flagField,
  })
  .superRefine((options, ctx) => {
    for (const flag of ['store', 'low'] as const) {
      if (options.global && options[flag] !== undefined && options[flag] !== false) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--${flag} does not go with --global (one row per SKU, summed over every store): leave out one of them.` });
      }
    }
  });
export type ListStockOptions = z.infer<typeof listStockOptionsSchema>;

const statusLabel: Record<StockStatus, string> = { out: 'OUT', low: 'LOW', ok: 'ok' };

function owned(customer: CustomerRow): string {
  const items = customer.owned.map((item) => `${item.sku}×${item.quantity}`);
  return items.length > 3 ? `${items.slice(0, 3).join(', ')} +${items.length - 3} more` : items.join(', ') || '-';
}



// On a terminal: the first item and how many more.
function ownedBrief(customer: CustomerRow): string {
  const [first] = customer.owned;
  return first ? `${first.sku}×${first.quantity}${customer.owned.length > 1 ? ` +${customer.owned.length - 1}` : ''}` : '-';
}

const customerColumns: Column<CustomerRow>[] = [
  { header: 'id', value: (c) => c._id, ids: true, keep: true },
  { header: 'name', value: (c) => `${c.firstName} ${c.lastName}` },
  { header: 'email', value: (c) => c.email },
  { header: 'city', value: (c) => `${c.address.city}, ${c.address.country}`, fitted: (c) => c.address.city },
  { header: 'purchases', value: (c) => c.purchases, align: 'right' },
  { header: 'owns (sku×qty)', value: owned, fitted: ownedBrief },
];

const productColumns: Column<ProductView>[] = [
  { header: 'sku', value: (p) => p._id, keep: true },
  { header: 'name', value: (p) => p.name },
  { header: 'category', value: (p) => p.category },
  { header: 'price', value: (p) => formatMoney(p.price), align: 'right' },
  { header: 'sold', value: (p) => p.sold.quantity, align: 'right' },
  { header: 'revenue', value: (p) => formatMoney(p.sold.revenue), align: 'right' },
];

// Fitted to a terminal: the customer's name (else the id's first 8 characters), the time to the minute.
const purchaseColumns: Column<PurchaseRow>[] = [
  { header: 'time', value: (p) => p.time, fitted: (p) => shortTime(p.time), keep: true },
  { header: 'customer', value: (p) => p.customerId, fitted: (p) => p.customerName ?? p.customerId, ids: true },
  { header: 'sku', value: (p) => p.sku, keep: true },
  { header: 'store', value: (p) => p.store, keep: true },
  { header: 'quantity', value: (p) => p.quantity, align: 'right' },
  { header: 'total', value: (p) => formatMoney(p.total), align: 'right' },
];

async function show<T>(
  context: Context,
  collection: 'customers' | 'products' | 'purchases',
  rows: T[],
  columns: Column<T>[],
  options: { json: boolean; toJson: (row: T) => unknown; filter?: Record<string, string> },
): Promise<void> {
  const { output } = context;
  if (options.json) {
    output.json(rows.map(options.toJson));
    return;
  }
  const total = await countOf((await context.database()).db, collection, options.filter);
  if (rows.length === 0) {
    output.data(`no ${collection}${options.filter?.customerId ? ` of customer '${options.filter.customerId}'` : ''} in database '${context.config.mongodb.db}'`);
    return;
  }
  output.data(renderTable(rows, columns, output));
  output.data(`${rows.length} of ${total} ${collection}`);
}

function listSubcommand<S extends string>(name: string, description: string, sorts: readonly S[], defaultSort: S, examplesText: string): Command {
  return new Command(name)
    .description(description)
    .addOption(new Option('-l, --limit <n>', rangeHelp('--limit', 'at most this many rows')).default(20))
    .addOption(new Option('-s, --sort <order>', 'sort order').choices(sorts).default(defaultSort))
    .option('--json', "print the rows as JSON (for scripts): the table's columns under the same names, and more")
    .addHelpText('after', examplesText);
}


const stockColumns: Column<AvailableRow>[] = [
  { header: 'store', value: (r) => r.store },
  { header: 'sku', value: (r) => (r.inCatalogue ? r.sku : `${r.sku} (not in catalogue)`), keep: true },
  { header: 'level', value: (r) => r.level, align: 'right' },
  { header: 'pending', value: (r) => r.pending, align: 'right' },
  { header: 'available', value: (r) => availableCell(r.available, r.freshness), align: 'right' },
  { header: 'threshold', value: (r) => r.threshold, align: 'right' },
  { header: 'status', value: (r) => statusLabel[stockStatus(r.level, r.threshold)] },
  { header: 'updated', value: (r) => r.updatedAt, fitted: (r) => shortTime(r.updatedAt), keep: true },
];


const globalColumns: Column<GlobalStockRow>[] = [
  { header: 'sku', value: (r) => (r.inCatalogue ? r.sku : `${r.sku} (not in catalogue)`), keep: true },
  { header: 'on hand', value: (r) => r.onHand, align: 'right' },
  { header: 'pending', value: (r) => r.pending, align: 'right' },
  { header: 'available', value: (r) => (r.availableAtStaleStores > 0 ? `${r.available} (${r.availableAtStaleStores} stale)` : String(r.available)), align: 'right' },
  { header: 'stores', value: (r) => r.stores, align: 'right' },
  { header: 'stale stores', value: (r) => (r.staleStores > 0 ? `${r.staleStores} ${freshnessLabel('stale')}` : '0'), align: 'right' },
];

function showGlobalStock(context: Context, all: GlobalStockRow[], staleAfterMs: number, options: { limit: number; json: boolean; sku?: string | undefined }): void {
  const { output } = context;
  const rows = all.slice(0, options.limit);
  if (options.json) return output.json(rows.map(globalJson));
  if (rows.length === 0) return output.data(options.sku === undefined ? 'no stock recorded yet' : `no stock for SKU ${options.sku}`);
  output.data(renderTable(rows, globalColumns, output));
  output.data(`${rows.length} of ${all.length} SKUs`);
  if (rows.some((row) => row.staleStores > 0)) {
    output.data(`(N stale): N units at stores with no heartbeat for over ${formatDuration(staleAfterMs)}: may not be available`);
  }
}

export function listCommand(): Command {
  const list = new Command('list').description('show what is in MongoDB: tables for people, --json for scripts');
  list.addHelpText('after', examples('shopctl list customers --limit 5', 'shopctl list products --sort sold', 'shopctl list purchases --json | jq length'));

  list.addCommand(
    listSubcommand(
      'customers',
      'customers, how many purchases each made and what they own (SKU × quantity)',
      sortsOf(customerSorts),
      'name',
      examples('shopctl list customers --limit 5 --sort purchases', 'shopctl list customers --sort registered --json | jq -r \'.[].email\''),
    ).action(
      run(listOptionsSchema(sortsOf(customerSorts), 'name'), async (context, options) => {
        const db = (await context.database()).db;
        const rows = await whileReading(context.output, 'reading customers…', () => listCustomers(db, options.sort, options.limit), { quiet: options.json });
        await show(context, 'customers', rows, customerColumns, { json: options.json, toJson: customerJson });
      }),
    ),
  );
  list.addCommand(
    listSubcommand(
      'products',
      'the catalogue with units sold (purchases and store sales, as `report sales` counts them) and revenue (purchases)',
      sortsOf(productSorts),
      'sku',
      examples('shopctl list products --limit 5 --sort sold', 'shopctl list products --sort price --json | jq \'.[0].price\''),
    ).action(
      run(listOptionsSchema(sortsOf(productSorts), 'sku'), async (context, options) => {
        const db = (await context.database()).db;
        const rows = await whileReading(context.output, 'reading products…', () => listProducts(db, options.sort, options.limit), { quiet: options.json });
        await show(context, 'products', rows, productColumns, { json: options.json, toJson: productJson });
      }),
    ),
  );
  list.addCommand(
    listSubcommand(
      'purchases',
      'the latest purchases (--customer: of one customer)',
      sortsOf(purchaseSorts),
      'latest',
      examples(
        'shopctl list purchases --limit 5',
        'shopctl list purchases --customer 9a80d1b7-bdbd-4716-a3cb-9c55b7c29534 --sort quantity',
        'shopctl list purchases --sort oldest --json | jq \'map(.total.amount) | add\'',
      ),
    )
      .option('--customer <id>', 'only the purchases of this customer (the id `list customers` shows)')
      .action(
        run(listPurchasesOptionsSchema, async (context, options) => {
          const db = (await context.database()).db;
          const rows = await whileReading(context.output, 'reading purchases…', () => listPurchases(db, options.sort, options.limit, options.customer), { quiet: options.json });
          await show(context, 'purchases', rows, purchaseColumns, {
            json: options.json,
            toJson: purchaseJson,
            ...(options.customer === undefined ? {} : { filter: { customerId: options.customer } }),
          });
        }),
      ),
  );
  list.addCommand(
    new Command('stock')
      .description(
        'current level per store and SKU, with units held by reservations (pending) and available to promise (level - pending - safety margin; marked when the store is stale); --global: one row per SKU over all stores',
      )
      .option('--store <id>', 'only this store')
      .option('--sku <sku>', 'only this SKU')
      .option('--low', 'only items at or under their threshold (inventory.thresholds, else inventory.lowStockThreshold)')
      .option('--global', 'one row per SKU, summed over every store: on hand, pending, available, stores, and how many of them are stale')
      .addOption(new Option('-l, --limit <n>', rangeHelp('--limit', 'at most this many rows')).default(50))
      .option('--json', "print the rows as JSON: the table's columns under the same names, and more")
      .addHelpText(
        'after',
        examples('shopctl list stock --store online --low', 'shopctl list stock --sku SKU-4F7QX2AB --json', 'shopctl list stock --global', "shopctl list stock --json | jq '.[] | select(.freshness == \"stale\")'"),
      )
      .action(
        run(listStockOptionsSchema, async (context, options) => {
          const { output } = context;
          const view = await whileReading(output, 'reading stock…', () => stockView(context, options), { quiet: options.json });
          if (view.kind === 'global') return showGlobalStock(context, view.rows, view.staleAfterMs, options);
          const rows = view.rows.slice(0, options.limit);
          if (options.json) return output.json(rows.map(stockJson));
          if (rows.length === 0) return output.data(options.low ? 'nothing at or under its threshold' : await noStockMessage((await context.database()).db, options));
          output.data(renderDropping(rows, stockColumns, ['threshold', 'updated'], output));
          output.data(`${rows.length} of ${view.rows.length} stock levels`);
          if (rows.some((row) => row.freshness === 'stale')) output.data(staleNote(view.staleAfterMs));
        }),
      ),
  );
  return list;
}
