import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { activeAfter, diffAlerts, type Alert, type AlertDiff } from '../domain/alerts.js';
import { connectOrExplain } from '../kafka/client.js';
import { readToEnd } from '../kafka/read-to-end.js';
import { createProducer } from '../kafka/publisher.js';
import { ensureTopics, withAdmin } from '../kafka/topics.js';
import type { Context } from './context.js';
import { currentStock } from './stock.js';

/** The alerts now, from the current levels. */
export async function currentAlerts(context: Context): Promise<Alert[]> {
  const { db } = await context.database();
  return diffAlerts(new Map(), await currentStock(db, context.config)).raised;
}

export interface WatchOptions {
  intervalMs: number;
  signal: AbortSignal;
  /** Once, before the first look: how many alerts earlier watchers raised and did not clear. */
  onStart?: (earlier: number) => void;
  /** After each look, with the time it was taken. */
  onChange: (diff: AlertDiff, at: string) => void;
}

/**
 * `alerts --follow`: polls the levels (the MongoDB-compatible test server has no change streams),
 * produces each raised and cleared alert to the alerts topic, until the signal.
 */
export async function watchAlerts(context: Context, options: WatchOptions): Promise<{ raised: number; active: number }> {
  const { config } = context;
  const { db } = await context.database();
  const kafka = context.kafka();
  await withAdmin(kafka, config, (admin) => ensureTopics(admin, config, [config.kafka.topics.alerts]));
  const producer = createProducer(kafka);
  await connectOrExplain(config, () => producer.connect());
  let raised = 0;
  try {
    // What earlier watchers raised and did not clear is still raised: not again.
    let active = await alertsRaisedBefore(kafka, config);
    options.onStart?.(active.size);
    while (!options.signal.aborted) {
      const diff = diffAlerts(active, await currentStock(db, config));
      active = diff.active;
      const at = new Date().toISOString();
      options.onChange(diff, at);
      const messages = [
        ...diff.raised.map((alert) => ({ key: alert.key, value: JSON.stringify({ event: 'raised', at, ...alert }) })),
        ...diff.cleared.map((clear) => ({ key: clear.key, value: JSON.stringify({ event: 'cleared', at, ...clear }) })),
      ];
      if (messages.length > 0) await producer.send({ topic: config.kafka.topics.alerts, acks: -1, messages });
      raised += diff.raised.length;
      await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
    return { raised, active: active.size };
  } finally {
    await producer.disconnect();
  }
}

async function alertsRaisedBefore(kafka: Kafka, config: Config): Promise<Map<string, Alert>> {
  const records: unknown[] = [];
  await readToEnd(
    kafka,
    config,
    [config.kafka.topics.alerts],
    (_topic, _partition, message) => {
      try {
        records.push(JSON.parse(message.value?.toString('utf8') ?? ''));
      } catch {
        // not one of ours: ignored
      }
    },
    { label: 'alerts' },
  );
  return activeAfter(records);
}
