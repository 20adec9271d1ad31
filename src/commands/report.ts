import { Command, Option } from 'commander';
import { z } from 'zod';
import { formatMoney } from '../domain/money.js';
import { topSellers } from '../services/stock.js';
import { renderTable } from '../ui/table.js';
import { examples, flagField, positiveIntField, run, sinceOf } from './shared.js';

export const reportSalesOptionsSchema = z.object({
  top: positiveIntField('--top').default(10),
  since: z.string().optional(),
  json: flagField,
});

export function reportCommand(): Command {
  const report = new Command('report').description('analytics over what was projected');
  report
    .command('sales')
    .description('top-selling products by quantity (purchases and store sales) and revenue (purchases)')
    .addOption(new Option('--top <n>', 'how many products').default(10))
    .option('--since <time>', 'only sales at or after this time: ISO date/time or a duration (15m, 2h, 1d)')
    .option('--json', 'print the rows as JSON')
    .addHelpText('after', examples('shopctl report sales --top 5', 'shopctl report sales --since 1d --json'))
    .action(
      run(reportSalesOptionsSchema, async (context, options) => {
        const { output } = context;
        const since = sinceOf(options.since, new Date())?.toISOString();
        const rows = await topSellers((await context.database()).db, { top: options.top, since });
        if (options.json) return output.json(rows);
        if (rows.length === 0) {
          output.data('no sales yet');
          return;
        }
        output.data(
          renderTable(
            rows,
            [
              { header: '#', value: (r) => rows.indexOf(r) + 1, align: 'right' },
              { header: 'sku', value: (r) => r.sku },
              { header: 'name', value: (r) => r.name ?? '-' },
              { header: 'quantity', value: (r) => r.quantity, align: 'right' },
              { header: 'revenue', value: (r) => (r.currency ? formatMoney({ amount: r.revenue, currency: r.currency }) : '-'), align: 'right' },
            ],
            { color: output.color },
          ),
        );
      }),
    );
  return report;
}
