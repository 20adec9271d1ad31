import { Command, Option } from 'commander';
import { z } from 'zod';
import type { Alert } from '../domain/alerts.js';
import { currentAlerts, watchAlerts } from '../services/alerts.js';
import { renderTable } from '../ui/table.js';
import { LIMITS } from '../domain/limits.js';
import { examples, flagField, positiveNumberField, run, withRange } from './shared.js';

const DEFAULT_INTERVAL_SECONDS = 2;

// --interval without --follow would be silently ignored: a usage error naming both instead.
// (No commander default for --interval, so that "given" can be told from "defaulted".)
export const alertsOptionsSchema = z
  .object({
    follow: flagField,
    interval: positiveNumberField('--interval', LIMITS.seconds).optional(),
    json: flagField,
  })
  .superRefine((options, ctx) => {
    if (options.interval !== undefined && !options.follow) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: '--interval only applies with --follow: add --follow (-f) to keep watching, or leave out --interval.' });
    }
  })
  .transform((options) => ({ ...options, interval: options.interval ?? DEFAULT_INTERVAL_SECONDS }));
export type AlertsOptions = z.infer<typeof alertsOptionsSchema>;

const describe = (alert: Alert): string =>
  alert.kind === 'out_of_stock'
    ? `OUT OF STOCK  ${alert.store} ${alert.sku} (level 0)`
    : `LOW STOCK     ${alert.store} ${alert.sku} (level ${alert.level}, threshold ${alert.threshold})`;

export function alertsCommand(): Command {
  return new Command('alerts')
    .description('items out of stock or at/under their threshold, from current levels')
    .option('-f, --follow', 'keep watching: print each new alert once and produce it to the alerts topic')
    .addOption(new Option('--interval <seconds>', withRange(`with --follow: how often to look at the levels, in seconds (default: ${DEFAULT_INTERVAL_SECONDS})`, LIMITS.seconds)))
    .option('--json', 'JSON: the alerts now, or with --follow one JSON object per line')
    .addHelpText('after', examples('shopctl alerts', 'shopctl alerts --follow --interval 5'))
    .action(
      run(alertsOptionsSchema, async (context, options) => {
        const { output } = context;
        if (!options.follow) {
          const raised = await currentAlerts(context);
          if (options.json) return output.json(raised);
          if (raised.length === 0) return output.data('no alerts: every item is above its threshold');
          output.data(
            renderTable(
              raised,
              [
                { header: 'store', value: (a) => a.store },
                { header: 'sku', value: (a) => a.sku },
                { header: 'kind', value: (a) => a.kind },
                { header: 'level', value: (a) => a.level, align: 'right' },
                { header: 'threshold', value: (a) => a.threshold, align: 'right' },
              ],
              output,
            ),
          );
          return;
        }

        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const { raised, active } = await watchAlerts(context, {
            intervalMs: options.interval * 1000,
            signal: stop.signal,
            onStart: (earlier) => {
              const note = earlier > 0 ? `; ${earlier} raised earlier (alerts topic) and not raised again` : '';
              output.info(`watching stock levels every ${options.interval}s${note} (Ctrl-C to stop)`);
            },
            onChange: (diff, at) => {
              for (const alert of diff.raised) {
                output.data(options.json ? JSON.stringify({ event: 'raised', at, ...alert }) : `${at}  ${describe(alert)}`);
              }
              for (const clear of diff.cleared) {
                output.data(options.json ? JSON.stringify({ event: 'cleared', at, ...clear }) : `${at}  cleared       ${clear.store} ${clear.sku} (level ${clear.level})`);
              }
            },
          });
          output.info(`stopped: ${raised} alerts raised, ${active} active`);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
