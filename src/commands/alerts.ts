import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { activeAfter, diffAlerts, type Alert } from '../domain/alerts.js';
import { connectOrExplain } from '../kafka/client.js';
import { readToEnd } from '../kafka/read-to-end.js';
import { createProducer } from '../kafka/publisher.js';
import { ensureTopics, withAdmin } from '../kafka/topics.js';
import { currentStock } from '../services/stock.js';
import { renderTable } from '../ui/table.js';
import { examples, positiveNumber, run } from './shared.js';

interface AlertsOptions {
  follow?: boolean;
  interval: number;
  json?: boolean;
}

const describe = (alert: Alert): string =>
  alert.kind === 'out_of_stock'
    ? `OUT OF STOCK  ${alert.store} ${alert.sku} (level 0)`
    : `LOW STOCK     ${alert.store} ${alert.sku} (level ${alert.level}, threshold ${alert.threshold})`;

export function alertsCommand(): Command {
  return new Command('alerts')
    .description('items out of stock or at/under their threshold, from current levels')
    .option('-f, --follow', 'keep watching: print each new alert once and produce it to the alerts topic')
    .option('--interval <seconds>', 'how often --follow looks at the levels', positiveNumber('--interval'), 2)
    .option('--json', 'JSON: the alerts now, or with --follow one JSON object per line')
    .addHelpText('after', examples('shopctl alerts', 'shopctl alerts --follow --interval 5'))
    .action(
      run<AlertsOptions>(async (context, options) => {
        const { config, output } = context;
        const { db } = await context.database();
        const levels = () => currentStock(db, config);
        if (!options.follow) {
          const { raised } = diffAlerts(new Map(), await levels());
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

        // Polling, not a change stream: the MongoDB-compatible test server has none.
        const kafka = context.kafka();
        await withAdmin(kafka, config, (admin) => ensureTopics(admin, config, [config.kafka.topics.alerts]));
        const producer = createProducer(kafka);
        await connectOrExplain(config, () => producer.connect());
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        let raisedTotal = 0;
        try {
          // What earlier watchers raised and did not clear is still raised: not again.
          let active = await alertsRaisedBefore(kafka, config);
          const earlier = active.size > 0 ? `; ${active.size} raised earlier (alerts topic) and not raised again` : '';
          output.info(`watching stock levels every ${options.interval}s${earlier} (Ctrl-C to stop)`);
          while (!stop.signal.aborted) {
            const diff = diffAlerts(active, await levels());
            active = diff.active;
            const at = new Date().toISOString();
            for (const alert of diff.raised) {
              output.data(options.json ? JSON.stringify({ event: 'raised', at, ...alert }) : `${at}  ${describe(alert)}`);
            }
            for (const clear of diff.cleared) {
              output.data(options.json ? JSON.stringify({ event: 'cleared', at, ...clear }) : `${at}  cleared       ${clear.store} ${clear.sku} (level ${clear.level})`);
            }
            const messages = [
              ...diff.raised.map((alert) => ({ key: alert.key, value: JSON.stringify({ event: 'raised', at, ...alert }) })),
              ...diff.cleared.map((clear) => ({ key: clear.key, value: JSON.stringify({ event: 'cleared', at, ...clear }) })),
            ];
            if (messages.length > 0) await producer.send({ topic: config.kafka.topics.alerts, acks: -1, messages });
            raisedTotal += diff.raised.length;
            await sleep(options.interval * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
          }
          output.info(`stopped: ${raisedTotal} alerts raised, ${active.size} active`);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await producer.disconnect();
        }
      }),
    );
}

async function alertsRaisedBefore(kafka: Kafka, config: Config): Promise<Map<string, Alert>> {
  const records: unknown[] = [];
  await readToEnd(kafka, config, [config.kafka.topics.alerts], (_topic, _partition, message) => {
    try {
      records.push(JSON.parse(message.value?.toString('utf8') ?? ''));
    } catch {
      // not one of ours: ignored
    }
  }, { label: 'alerts' });
  return activeAfter(records);
}
