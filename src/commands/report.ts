import { Command, Option } from 'commander';
import { z } from 'zod';
import { formatMoney } from '../domain/money.js';
import { capacityReport, lowReport, positionReport, rangeReport, type PositionRow, type RangeRow } from '../services/analytics.js';
import { salesReport } from '../services/read.js';
import { storeIdSchema, skuSchema } from '../domain/events.js';
import { LIMITS } from '../domain/limits.js';
import { whileReading } from '../ui/progress.js';
import { renderTable } from '../ui/table.js';
import { examples, flagField, intField, positiveIntField, rangeHelp, run, sinceOf } from './shared.js';

export const reportSalesOptionsSchema = z.object({
  top: positiveIntField('--top').default(10),
  since: z.string().optional(),
  json: flagField,
});

export const reportPositionOptionsSchema = z.object({ sku: skuSchema.optional(), top: positiveIntField('--top').optional(), json: flagField });
export const reportCapacityOptionsSchema = z.object({ json: flagField });
export const reportRangeOptionsSchema = z.object({ lowest: positiveIntField('--lowest', LIMITS.rows).optional(), store: storeIdSchema.optional(), json: flagField });
export const reportLowOptionsSchema = z.object({ below: intField('--below', LIMITS.level).optional(), limit: positiveIntField('--limit').optional(), json: flagField });

const percentCell = (percent: number | null): string => (percent === null ? '-' : `${percent.toFixed(1)} %`);

const positionColumns = [
  { header: 'sku', value: (r: PositionRow) => r.sku, keep: true },
  { header: 'name', value: (r: PositionRow) => r.name ?? '-' },
  { header: 'on hand', value: (r: PositionRow) => r.onHand, align: 'right' as const },
  { header: 'pending', value: (r: PositionRow) => r.pending, align: 'right' as const },
  { header: 'available', value: (r: PositionRow) => r.available, align: 'right' as const },
  { header: 'max on hand', value: (r: PositionRow) => r.maxOnHand, align: 'right' as const },
  { header: 'range', value: (r: PositionRow) => percentCell(r.rangePercent), align: 'right' as const },
  { header: 'stores', value: (r: PositionRow) => r.stores, align: 'right' as const },
  { header: 'stale stores', value: (r: PositionRow) => r.staleStores, align: 'right' as const },
];

export function reportCommand(): Command {
  const report = new Command('report').description('analytics over what was projected');
  report
    .command('sales')
    .description('top-selling products by units sold (purchases and store sales, as `list products` counts them) and revenue (purchases)')
    .addOption(new Option('--top <n>', rangeHelp('--top', 'how many products')).default(10))
    .option('--since <time>', 'only sales at or after this time: ISO date/time or a duration (15m, 2h, 1d)')
    .option('--json', 'print the rows as JSON')
    .addHelpText('after', examples('shopctl report sales --top 5', 'shopctl report sales --since 1d --json'))
    .action(
      run(reportSalesOptionsSchema, async (context, options) => {
        const { output } = context;
        const since = sinceOf(options.since, new Date())?.toISOString();
        const db = (await context.database()).db;
        const rows = await whileReading(output, 'adding up sales…', () => salesReport(db, { top: options.top, since }), { quiet: options.json });
        // JSON names follow the table's headers (# is the rank); money is { amount, currency } in minor units, as in `list products`.
        if (options.json) return output.json(rows.map((r, i) => ({ rank: i + 1, sku: r.sku, name: r.name, sold: r.quantity, revenue: { amount: r.revenue, currency: r.currency } })));
        if (rows.length === 0) {
          output.data(options.since === undefined ? 'no sales yet' : /^\d+(\.\d+)?\s*[a-z]+$/i.test(options.since.trim()) ? `no sales in the last ${options.since.trim()}` : `no sales since ${options.since}`);
          return;
        }
        output.data(
          renderTable(
            rows,
            [
              { header: '#', value: (r) => rows.indexOf(r) + 1, align: 'right' },
              { header: 'sku', value: (r) => r.sku, keep: true },
              { header: 'name', value: (r) => r.name ?? '-' },
              { header: 'sold', value: (r) => r.quantity, align: 'right' },
              { header: 'revenue', value: (r) => (r.currency ? formatMoney({ amount: r.revenue, currency: r.currency }) : '-'), align: 'right' },
            ],
            output,
          ),
        );
      }),
    );
  report
    .command('position')
    .description('global position per SKU, summed over stores (kept by the projection): on hand, pending, available to promise, the highest on hand ever and where it stands against it; most on hand first')
    .option('--sku <sku>', 'only this SKU')
    .addOption(new Option('--top <n>', rangeHelp('--top', 'only the n SKUs with most on hand')))
    .option('--json', "print the rows as JSON (the table's columns: onHand, pending, available, maxOnHand, rangePercent, stores, staleStores)")
    .addHelpText('after', examples('shopctl report position --top 10', 'shopctl report position --sku SKU-4F7QX2AB --json'))
    .action(
      run(reportPositionOptionsSchema, async (context, options) => {
        const rows = await whileReading(context.output, 'reading positions…', () => positionReport(context, options), { quiet: options.json });
        if (options.json) return context.output.json(rows);
        if (rows.length === 0) return context.output.data(options.sku === undefined ? 'no stock recorded yet' : `no position for SKU ${options.sku}`);
        context.output.data(renderTable(rows, positionColumns, context.output));
      }),
    );

  report
    .command('capacity')
    .description("warehouse capacity use: per store, units on hand against its capacity (`stores add|set`), and its share of the chain's stock; most used first")
    .option('--json', 'print the rows as JSON (store, city, lat, lon, capacity, onHand, usedPercent, sharePercent, freshness; null where unknown)')
    .addHelpText('after', examples('shopctl report capacity', "shopctl report capacity --json | jq '.[] | select(.usedPercent > 90)'"))
    .action(
      run(reportCapacityOptionsSchema, async (context, options) => {
        const rows = await whileReading(context.output, 'adding up stock per store…', () => capacityReport(context), { quiet: options.json });
        if (options.json) return context.output.json(rows);
        if (rows.length === 0) return context.output.data('no stores yet: none defined, heard from or holding stock');
        context.output.data(
          renderTable(
            rows,
            [
              { header: 'store', value: (r) => r.store, keep: true },
              { header: 'city', value: (r) => r.city ?? '-' },
              { header: 'capacity', value: (r) => (r.capacity === null ? '-' : r.capacity), align: 'right' },
              { header: 'on hand', value: (r) => r.onHand, align: 'right' },
              { header: 'used', value: (r) => percentCell(r.usedPercent), align: 'right' },
              { header: 'share', value: (r) => percentCell(r.sharePercent), align: 'right' },
              { header: 'freshness', value: (r) => (r.freshness === 'stale' ? 'STALE' : r.freshness) },
            ],
            context.output,
          ),
        );
      }),
    );

  report
    .command('range')
    .description('stock against its historical range: per SKU, globally and at each store, the level as a percentage of the highest it ever had (10 of a highest 1,000: 1 %); lowest first')
    .addOption(new Option('--lowest <n>', rangeHelp('--top', 'only the n lowest')))
    .option('--store <id>', "only this store's levels (no global rows)")
    .option('--json', 'print the rows as JSON (sku, store: null for the global position, level, maxLevel, percent)')
    .addHelpText('after', examples('shopctl report range --lowest 10', 'shopctl report range --store berlin --json'))
    .action(
      run(reportRangeOptionsSchema, async (context, options) => {
        const rows = await whileReading(context.output, 'reading levels…', () => rangeReport(context, options), { quiet: options.json });
        if (options.json) return context.output.json(rows);
        if (rows.length === 0) return context.output.data(options.store === undefined ? 'no stock recorded yet' : `no stock at store ${options.store}`);
        context.output.data(
          renderTable(
            rows,
            [
              { header: 'sku', value: (r: RangeRow) => r.sku, keep: true },
              { header: 'store', value: (r: RangeRow) => r.store ?? '(all)', keep: true },
              { header: 'level', value: (r: RangeRow) => r.level, align: 'right' },
              { header: 'max level', value: (r: RangeRow) => r.maxLevel, align: 'right' },
              { header: 'percent', value: (r: RangeRow) => percentCell(r.percent), align: 'right' },
            ],
            context.output,
          ),
        );
      }),
    );

  report
    .command('low')
    .description('the SKUs with the least available to promise summed over all stores (absolute units), lowest first')
    .option('--below <n>', 'only those with at most n available (default: inventory.lowStockThreshold)')
    .addOption(new Option('--limit <n>', rangeHelp('--limit', 'at most this many rows')).default(20))
    .option('--json', 'print the rows as JSON (as report position)')
    .addHelpText('after', examples('shopctl report low', 'shopctl report low --below 100 --limit 5 --json'))
    .action(
      run(reportLowOptionsSchema, async (context, options) => {
        const below = options.below ?? context.config.inventory.lowStockThreshold;
        const rows = await whileReading(context.output, 'reading positions…', () => lowReport(context, { below, limit: options.limit }), { quiet: options.json });
        if (options.json) return context.output.json(rows);
        if (rows.length === 0) return context.output.data(`no SKU has ${below} or fewer available`);
        context.output.data(renderTable(rows, positionColumns, context.output));
      }),
    );

  return report;
}
