import type { Kafka, Message, Producer } from 'kafkajs';
import type { Config } from '../config/schema.js';
import type { ShopEvent } from '../domain/events.js';
import { routeOf } from '../domain/routing.js';
import { connectOrExplain } from './client.js';
import { encodeEvent } from './codec.js';
import { ensureTopics, topicOf, withAdmin } from './topics.js';

/**
 * Messages per produce request: large enough to amortise the round-trip, small enough that the
 * share of one partition (keys can be skewed) stays under the broker's 1 MB message.max.bytes.
 */
export const SEND_BATCH_SIZE = 1000;

export interface EventPublisher {
  publish(events: readonly ShopEvent[]): Promise<void>;
  disconnect(): Promise<void>;
}

export function createProducer(kafka: Kafka): Producer {
  // Idempotent: a retried request is not written twice, and order per partition holds
  // (one request in flight per broker), which keeps store:sku events in order.
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

export async function connectPublisher(kafka: Kafka, config: Config): Promise<EventPublisher> {
  await withAdmin(kafka, config, (admin) => ensureTopics(admin, config));
  const producer = createProducer(kafka);
  await connectOrExplain(config, () => producer.connect());
  return {
    async publish(events) {
      for (let start = 0; start < events.length; start += SEND_BATCH_SIZE) {
        const topicMessages = groupByTopic(config, events.slice(start, start + SEND_BATCH_SIZE));
        await producer.sendBatch({ acks: -1, topicMessages });
      }
    },
    disconnect: () => producer.disconnect(),
  };
}

export function groupByTopic(config: Config, events: readonly ShopEvent[]): Array<{ topic: string; messages: Message[] }> {
  const byTopic = new Map<string, Message[]>();
  for (const event of events) {
    const topic = topicOf(config, routeOf(event).stream);
    const list = byTopic.get(topic) ?? [];
    list.push(encodeEvent(event));
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
