import { Command } from 'commander';
import { z } from 'zod';
import { stockHistory } from '../services/stock.js';
import { renderTable } from '../ui/table.js';
import { examples, flagField, run } from './shared.js';

export const historyOptionsSchema = z.object({ sku: z.string(), store: z.string().optional(), json: flagField });

export function historyCommand(): Command {
  return new Command('history')
    .description('the transaction journal of one SKU: every applied change with time, type, quantity and resulting level')
    .requiredOption('--sku <sku>', 'the item')
    .option('--store <id>', 'only this store (default: every store)')
    .option('--json', 'print the rows as JSON')
    .addHelpText('after', examples('shopctl history --sku SKU-4F7QX2AB', 'shopctl history --sku SKU-4F7QX2AB --store berlin --json'))
    .action(
      run(historyOptionsSchema, async (context, options) => {
        const { output } = context;
        const rows = await stockHistory((await context.database()).db, options.sku, options.store);
        if (options.json) return output.json(rows);
        if (rows.length === 0) {
          output.data(`no stock changes for SKU '${options.sku}'${options.store ? ` at '${options.store}'` : ''}`);
          return;
        }
        output.data(
          renderTable(
            rows,
            [
              { header: 'time', value: (r) => r.time },
              { header: 'store', value: (r) => r.store },
              { header: 'type', value: (r) => r.type },
              { header: 'change', value: (r) => (r.type === 'count' ? `=${r.change}` : r.change > 0 ? `+${r.change}` : String(r.change)), align: 'right' },
              { header: 'level', value: (r) => r.level, align: 'right' },
              { header: 'event', value: (r) => r.event },
            ],
            { color: output.color },
          ),
        );
      }),
    );
}
