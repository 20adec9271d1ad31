import { Command, Option } from 'commander';
import { z } from 'zod';
import type { ProductView, PurchaseDoc } from '../domain/documents.js';
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
} from '../services/read.js';
import { currentStock } from '../services/stock.js';
import { renderTable, type Column } from '../ui/table.js';
import { examples, flagField, positiveIntField, run } from './shared.js';

/** `list customers|products|purchases`: one schema per subcommand, for its sort orders. */
export const listOptionsSchema = <S extends string>(sorts: readonly [S, ...S[]], defaultSort: S) =>
  z.object({
    limit: positiveIntField('--limit').default(20),
    sort: z.enum(sorts).default(defaultSort),
    json: flagField,
  });

export const listStockOptionsSchema = z.object({
  store: z.string().optional(),
  sku: z.string().optional(),
  low: flagField,
  limit: positiveIntField('--limit').default(50),
  json: flagField,
});
export type ListStockOptions = z.infer<typeof listStockOptionsSchema>;

const sortsOf = <S extends string>(sorts: Record<S, unknown>): [S, ...S[]] => Object.keys(sorts) as [S, ...S[]];

const statusLabel: Record<StockStatus, string> = { out: 'OUT', low: 'LOW', ok: 'ok' };

function owned(customer: CustomerRow): string {
  const items = customer.owned.map((item) => `${item.sku}×${item.quantity}`);
  return items.length > 3 ? `${items.slice(0, 3).join(', ')} +${items.length - 3} more` : items.join(', ') || '-';
}

const customerColumns: Column<CustomerRow>[] = [
  { header: 'id', value: (c) => c._id },
  { header: 'name', value: (c) => `${c.firstName} ${c.lastName}` },
  { header: 'email', value: (c) => c.email },
  { header: 'city', value: (c) => `${c.address.city}, ${c.address.country}` },
  { header: 'purchases', value: (c) => c.purchases, align: 'right' },
  { header: 'owns (sku×qty)', value: owned },
];

const productColumns: Column<ProductView>[] = [
  { header: 'sku', value: (p) => p._id },
  { header: 'name', value: (p) => p.name },
  { header: 'category', value: (p) => p.category },
  { header: 'price', value: (p) => formatMoney(p.price), align: 'right' },
  { header: 'sold', value: (p) => p.sold.quantity, align: 'right' },
  { header: 'revenue', value: (p) => formatMoney(p.sold.revenue), align: 'right' },
];

const purchaseColumns: Column<PurchaseDoc>[] = [
  { header: 'time', value: (p) => p.time },
  { header: 'customer', value: (p) => p.customerId },
  { header: 'sku', value: (p) => p.sku },
  { header: 'store', value: (p) => p.store },
  { header: 'qty', value: (p) => p.quantity, align: 'right' },
  { header: 'total', value: (p) => formatMoney(p.total), align: 'right' },
];

async function show<T>(
  context: Context,
  collection: 'customers' | 'products' | 'purchases',
  rows: T[],
  columns: Column<T>[],
  json: boolean,
): Promise<void> {
  const { output } = context;
  if (json) {
    output.json(rows);
    return;
  }
  const total = await countOf((await context.database()).db, collection);
  if (rows.length === 0) {
    output.data(`no ${collection} in database '${context.config.mongodb.db}'`);
    return;
  }
  output.data(renderTable(rows, columns, { color: output.color }));
  output.data(`${rows.length} of ${total} ${collection}`);
}

function listSubcommand<S extends string>(name: string, description: string, sorts: readonly S[], defaultSort: S): Command {
  return new Command(name)
    .description(description)
    .addOption(new Option('-l, --limit <n>', 'at most this many rows').default(20))
    .addOption(new Option('-s, --sort <order>', 'sort order').choices(sorts).default(defaultSort))
    .option('--json', 'print the documents as JSON (for scripts)');
}

export function listCommand(): Command {
  const list = new Command('list').description('show what is in MongoDB: tables for people, --json for scripts');
  list.addHelpText('after', examples('shopctl list customers --limit 5', 'shopctl list products --sort sold', 'shopctl list purchases --json | jq length'));

  list.addCommand(
    listSubcommand('customers', 'customers and what they own', sortsOf(customerSorts), 'name').action(
      run(listOptionsSchema(sortsOf(customerSorts), 'name'), async (context, options) => {
        const rows = await listCustomers((await context.database()).db, options.sort, options.limit);
        await show(context, 'customers', rows, customerColumns, options.json);
      }),
    ),
  );
  list.addCommand(
    listSubcommand('products', 'the catalogue with units sold and revenue', sortsOf(productSorts), 'sku').action(
      run(listOptionsSchema(sortsOf(productSorts), 'sku'), async (context, options) => {
        const rows = await listProducts((await context.database()).db, options.sort, options.limit);
        await show(context, 'products', rows, productColumns, options.json);
      }),
    ),
  );
  list.addCommand(
    listSubcommand('purchases', 'the latest purchases', sortsOf(purchaseSorts), 'latest').action(
      run(listOptionsSchema(sortsOf(purchaseSorts), 'latest'), async (context, options) => {
        const rows = await listPurchases((await context.database()).db, options.sort, options.limit);
        await show(context, 'purchases', rows, purchaseColumns, options.json);
      }),
    ),
  );
  list.addCommand(
    new Command('stock')
      .description('current level per store and SKU; --low: only those at or under their threshold')
      .option('--store <id>', 'only this store')
      .option('--sku <sku>', 'only this SKU')
      .option('--low', 'only items at or under their threshold (inventory.thresholds, else inventory.lowStockThreshold)')
      .addOption(new Option('-l, --limit <n>', 'at most this many rows').default(50))
      .option('--json', 'print the rows as JSON')
      .addHelpText('after', examples('shopctl list stock --store online --low', 'shopctl list stock --sku SKU-4F7QX2AB --json'))
      .action(
        run(listStockOptionsSchema, async (context, options) => {
          const { output } = context;
          const all = await currentStock((await context.database()).db, context.config, options);
          const rows = all.slice(0, options.limit);
          if (options.json) return output.json(rows);
          if (rows.length === 0) return output.data(options.low ? 'nothing at or under its threshold' : 'no stock recorded yet');
          output.data(
            renderTable(
              rows,
              [
                { header: 'store', value: (r) => r.store },
                { header: 'sku', value: (r) => r.sku },
                { header: 'level', value: (r) => r.level, align: 'right' },
                { header: 'threshold', value: (r) => r.threshold, align: 'right' },
                { header: 'status', value: (r) => statusLabel[stockStatus(r.level, r.threshold)] },
                { header: 'updated', value: (r) => r.updatedAt },
              ],
              { color: output.color },
            ),
          );
          output.data(`${rows.length} of ${all.length} stock levels`);
        }),
      ),
  );
  return list;
}
