import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { ShopctlError } from '../errors.js';
import { connectOrExplain } from './client.js';
import { withAdmin } from './topics.js';

// Reading whole topics (dead letters, import errors, alerts) without touching any consumer group.

export interface ReadResult {
  /** Requested topics that do not exist (nothing was ever dead-lettered there). */
  missing: string[];
  records: number;
}

export interface ReadOptions {
  /** Fail when no progress was made for this long (default 30 s). */
  stallMs?: number;
  /** Names the throwaway group (`<clientId>-<label>-<uuid>`), for whoever lists groups meanwhile. */
  label?: string;
}

/**
 * Reads topics from their oldest retained record up to the end they had when reading started,
 * without disturbing any consumer group: a throwaway group that commits nothing, deleted after.
 * `onRecord` returning true stops early. Topics that do not exist read as empty.
 */
export async function readToEnd(
  kafka: Kafka,
  config: Config,
  topics: readonly string[],
  onRecord: (topic: string, partition: number, message: KafkaMessage) => boolean | void,
  options: ReadOptions = {},
): Promise<ReadResult> {
  const stallMs = options.stallMs ?? 30_000;
  const ends = new Map<string, { high: bigint; reached: bigint }>();
  const missing: string[] = [];
  await withAdmin(kafka, config, async (admin) => {
    const existing = new Set(await admin.listTopics());
    for (const topic of topics) {
      if (!existing.has(topic)) {
        missing.push(topic);
        continue;
      }
      for (const partition of await admin.fetchTopicOffsets(topic)) {
        const high = BigInt(partition.high);
        if (high > BigInt(partition.low)) ends.set(`${topic}/${partition.partition}`, { high, reached: BigInt(partition.low) });
      }
    }
  });
  if (ends.size === 0) return { missing, records: 0 };

  const groupId = `${config.kafka.clientId}-${options.label ?? 'errors'}-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  await connectOrExplain(config, () => consumer.connect());
  let records = 0;
  let lastProgress = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const withData = [...new Set([...ends.keys()].map((key) => key.slice(0, key.lastIndexOf('/'))))];
    await consumer.subscribe({ topics: withData, fromBeginning: true });
    let stop!: () => void;
    let fail!: (error: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => {
      stop = resolve;
      fail = reject;
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) fail(event.payload.error);
    });
    timer = setInterval(() => {
      if (Date.now() - lastProgress < stallMs) return;
      const behind = [...ends].map(([key, end]) => `${key} at offset ${end.reached} of ${end.high}`);
      fail(
        new ShopctlError(`Reading ${topics.join(', ')} made no progress for ${Math.round(stallMs / 1000)} s`, {
          code: 'KAFKA_READ_STALLED',
          details: behind,
          suggestion: 'Check the brokers and the topic with `shopctl topics describe`, then run again.',
        }),
      );
    }, 250);
    let stopped = false;
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const key = `${batch.topic}/${batch.partition}`;
        const end = ends.get(key);
        if (stopped || !end) return;
        for (const message of batch.messages) {
          if (BigInt(message.offset) >= end.high) break;
          records += 1;
          if (onRecord(batch.topic, batch.partition, message) === true) {
            stopped = true;
            stop();
            return;
          }
        }
        lastProgress = Date.now();
        end.reached = BigInt(batch.lastOffset()) + 1n;
        if (end.reached >= end.high) ends.delete(key);
        if (ends.size === 0) stop();
        await payload.heartbeat();
      },
    });
    await finished;
  } finally {
    clearInterval(timer);
    await consumer.disconnect().catch(() => undefined);
    // The group committed nothing; removing it keeps `kafka-consumer-groups --list` clean.
    await withAdmin(kafka, config, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
  return { missing, records };
}
