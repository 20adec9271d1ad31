import { Command, Option } from 'commander';
import { z } from 'zod';
import type { Alert } from '../domain/alerts.js';
import { currentAlerts, watchAlerts } from '../services/alerts.js';
import { renderTable } from '../ui/table.js';
import { examples, flagField, positiveNumberField, run } from './shared.js';

export const alertsOptionsSchema = z.object({
  follow: flagField,
  interval: positiveNumberField('--interval').default(2),
  json: flagField,
});
export type AlertsOptions = z.infer<typeof alertsOptionsSchema>;

const describe = (alert: Alert): string =>
  alert.kind === 'out_of_stock'
    ? `OUT OF STOCK  ${alert.store} ${alert.sku} (level 0)`
    : `LOW STOCK     ${alert.store} ${alert.sku} (level ${alert.level}, threshold ${alert.threshold})`;

export function alertsCommand(): Command {
  return new Command('alerts')
    .description('items out of stock or at/under their threshold, from current levels')
    .option('-f, --follow', 'keep watching: print each new alert once and produce it to the alerts topic')
    .addOption(new Option('--interval <seconds>', 'how often --follow looks at the levels').default(2))
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
                { header: 'alert', value: (a) => a.kind },
                { header: 'level', value: (a) => a.level, align: 'right' },
                { header: 'threshold', value: (a) => a.threshold, align: 'right' },
              ],
              { color: output.color },
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
