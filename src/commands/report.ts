import { Command, Option } from 'commander';
import { z } from 'zod';
import { formatMoney } from '../domain/money.js';
import { salesReport } from '../services/read.js';
import { whileReading } from '../ui/progress.js';
import { renderTable } from '../ui/table.js';
import { examples, flagField, positiveIntField, rangeHelp, run, sinceOf } from './shared.js';

export const reportSalesOptionsSchema = z.object({
  top: positiveIntField('--top').default(10),
  since: z.string().optional(),
  json: flagField,
});

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
  return report;
}
