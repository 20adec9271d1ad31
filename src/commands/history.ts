import { Command, Option } from 'commander';
import { z } from 'zod';
import { stockHistory, type HistoryRow } from '../services/stock.js';
import { whileReading } from '../ui/progress.js';
import { renderTable, shortTime } from '../ui/table.js';
import { examples, flagField, positiveIntField, run } from './shared.js';

export const historyOptionsSchema = z.object({
  sku: z.string(),
  store: z.string().optional(),
  limit: positiveIntField('--limit').default(50),
  json: flagField,
});

const changeText = (row: HistoryRow): string => (row.change === null ? `=${row.level}` : row.change > 0 ? `+${row.change}` : String(row.change));

export function historyCommand(): Command {
  return new Command('history')
    .description('the transaction journal of one SKU: every applied change with time, type, quantity and resulting level, in event time order')
    .requiredOption('--sku <sku>', 'the item')
    .option('--store <id>', 'only this store (default: every store)')
    .addOption(new Option('-l, --limit <n>', 'show the latest this many changes').default(50))
    .option('--json', 'print the rows as JSON (a count has "change": null and the counted "level")')
    .addHelpText(
      'after',
      examples('shopctl history --sku SKU-4F7QX2AB', 'shopctl history --sku SKU-4F7QX2AB --store berlin --limit 10', 'shopctl history --sku SKU-4F7QX2AB --json | jq \'.[] | select(.type == "count")\''),
    )
    .action(
      run(historyOptionsSchema, async (context, options) => {
        const { output } = context;
        const db = (await context.database()).db;
        const all = await whileReading(output, 'reading the journal…', () => stockHistory(db, options.sku, options.store), { quiet: options.json });
        // The latest changes, still oldest first.
        const rows = all.slice(Math.max(0, all.length - options.limit));
        if (options.json) return output.json(rows);
        if (rows.length === 0) {
          output.data(`no stock changes for SKU '${options.sku}'${options.store ? ` at '${options.store}'` : ''}`);
          return;
        }
        output.data(
          renderTable(
            rows,
            [
              { header: 'time', value: (r) => r.time, fitted: (r) => shortTime(r.time), keep: true },
              { header: 'store', value: (r) => r.store },
              { header: 'type', value: (r) => r.type },
              { header: 'change', value: changeText, align: 'right' },
              { header: 'level', value: (r) => r.level, align: 'right' },
              { header: 'event', value: (r) => r.event, ids: true },
            ],
            output,
          ),
        );
        output.data(`${rows.length === all.length ? `${rows.length}` : `latest ${rows.length}`} of ${all.length} stock changes`);
      }),
    );
}
