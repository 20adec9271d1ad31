import { Command, Option } from 'commander';
import type { ProductDoc, PurchaseDoc } from '../domain/documents.js';
import { formatMoney } from '../domain/money.js';
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
  type CustomerSort,
  type ProductSort,
  type PurchaseSort,
} from '../services/read.js';
import { currentStock } from '../services/stock.js';
import { renderTable, type Column } from '../ui/table.js';
import { examples, positiveInt, run } from './shared.js';

interface ListOptions<S> {
  limit: number;
  sort: S;
  json?: boolean;
}

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

const productColumns: Column<ProductDoc>[] = [
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
    .option('-l, --limit <n>', 'at most this many rows', positiveInt('--limit'), 20)
    .addOption(new Option('-s, --sort <order>', 'sort order').choices(sorts).default(defaultSort))
    .option('--json', 'print the documents as JSON (for scripts)');
}

export function listCommand(): Command {
  const list = new Command('list').description('show what is in MongoDB: tables for people, --json for scripts');
  list.addHelpText('after', examples('shopctl list customers --limit 5', 'shopctl list products --sort sold', 'shopctl list purchases --json | jq length'));

  list.addCommand(
    listSubcommand('customers', 'customers and what they own', Object.keys(customerSorts) as CustomerSort[], 'name').action(
      run<ListOptions<CustomerSort>>(async (context, options) => {
        const rows = await listCustomers((await context.database()).db, options.sort, options.limit);
        await show(context, 'customers', rows, customerColumns, Boolean(options.json));
      }),
    ),
  );
  list.addCommand(
    listSubcommand('products', 'the catalogue with units sold and revenue', Object.keys(productSorts) as ProductSort[], 'sku').action(
      run<ListOptions<ProductSort>>(async (context, options) => {
        const rows = await listProducts((await context.database()).db, options.sort, options.limit);
        await show(context, 'products', rows, productColumns, Boolean(options.json));
      }),
    ),
  );
  list.addCommand(
    listSubcommand('purchases', 'the latest purchases', Object.keys(purchaseSorts) as PurchaseSort[], 'latest').action(
      run<ListOptions<PurchaseSort>>(async (context, options) => {
        const rows = await listPurchases((await context.database()).db, options.sort, options.limit);
        await show(context, 'purchases', rows, purchaseColumns, Boolean(options.json));
      }),
    ),
  );
  list.addCommand(
    new Command('stock')
      .description('current level per store and SKU; --low: only those at or under their threshold')
      .option('--store <id>', 'only this store')
      .option('--sku <sku>', 'only this SKU')
      .option('--low', 'only items at or under their threshold (inventory.thresholds, else inventory.lowStockThreshold)')
      .option('-l, --limit <n>', 'at most this many rows', positiveInt('--limit'), 50)
      .option('--json', 'print the rows as JSON')
      .addHelpText('after', examples('shopctl list stock --store online --low', 'shopctl list stock --sku SKU-4F7QX2AB --json'))
      .action(
        run<{ store?: string; sku?: string; low?: boolean; limit: number; json?: boolean }>(async (context, options) => {
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
                { header: 'status', value: (r) => (r.level === 0 ? 'OUT' : r.low ? 'LOW' : 'ok') },
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
