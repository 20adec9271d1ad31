import type { Kafka, Message } from 'kafkajs';
import type { Db } from 'mongodb';
import type { ProductDoc } from '../src/domain/documents.js';
import type { PurchaseMade } from '../src/domain/events.js';
import { multiply } from '../src/domain/money.js';
import { throughput, type Throughput } from './workload.js';

// The way the reference projects do it, measured with the same clients, messages and documents.

/** One message per request, each awaited before the next (acks=all). */
export async function naiveProduce(kafka: Kafka, topic: string, messages: readonly Message[], count: number): Promise<Throughput> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.slice(0, 1) });
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      await producer.send({ topic, acks: -1, messages: [messages[i % messages.length]!] });
    }
    return throughput(count, performance.now() - started);
  } finally {
    await producer.disconnect();
  }
}

/**
 * One `updateOne` round-trip per event: the product's sold counters incremented by _id. It
 * writes less than the projection does (no purchase document, no journal, no idempotence), so
 * it flatters the naive way.
 */
export async function naiveProject(db: Db, events: readonly PurchaseMade[], count: number): Promise<Throughput> {
  const products = db.collection<ProductDoc>('products');
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const event = events[i % events.length]!;
    const line = multiply(event.data.unitPrice, event.data.quantity);
    await products.updateOne(
      { _id: event.data.sku },
      { $inc: { 'sold.quantity': event.data.quantity, 'sold.revenue.amount': line.amount }, $set: { _last: event.id } },
    );
  }
  return throughput(count, performance.now() - started);
}
