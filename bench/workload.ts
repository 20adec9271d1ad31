import { Partitioners, type Message, type PartitionMetadata } from 'kafkajs';
import type { PurchaseMade } from '../src/domain/events.js';
import { randomPurchaseEvents, type Catalog } from '../src/services/buy.js';
import { createRuntime } from '../src/services/runtime.js';
import { encodeEvent } from '../src/kafka/codec.js';
import { MAX_REQUEST_BYTES, messageBytes } from '../src/kafka/publisher.js';

/** Distinct events held in memory at most; longer runs cycle through them (with fresh ids where ids must be unique). */
export const POOL_LIMIT = 20_000;

/** Events per projector chunk, as `src/kafka/projector-consumer.ts` applies them (CHUNK). */
export { PROJECTOR_CHUNK } from '../src/kafka/projector-consumer.js';


export interface Throughput {
  count: number;
  ms: number;
  perSecond: number;
}

export function throughput(count: number, ms: number): Throughput {
  return { count, ms: Math.round(ms), perSecond: ms > 0 ? Math.round((count * 1000) / ms) : 0 };
}

/**
 * Random purchases exactly as `buy --random` makes them (same generator, catalog and store), so
 * the messages and documents the ceilings write have shopctl's sizes.
 */
export function purchasePool(catalog: Catalog, store: string, count: number, seed: number): PurchaseMade[] {
  const pool: PurchaseMade[] = [];
  for (const chunk of randomPurchaseEvents(createRuntime(seed), catalog, { count: Math.min(count, POOL_LIMIT), store, chunk: 1000 })) {
    for (const event of chunk) if (event.type === 'shop.purchase.made.v1') pool.push(event);
  }
  return pool;
}

/**
 * The largest batch that cannot exceed message.max.bytes even if every message landed on one
 * partition: the same bound as shopctl's own produce requests (MAX_REQUEST_BYTES).
 */
export function safeBatchSize(messages: readonly Message[]): number {
  const average = messages.reduce((sum, message) => sum + messageBytes(message), 0) / Math.max(1, messages.length);
  return Math.max(1, Math.min(5000, Math.floor(MAX_REQUEST_BYTES / average)));
}

export function encodePool(events: readonly PurchaseMade[]): Message[] {
  return events.map((event) => encodeEvent(event));
}

/** Splits events by the partition kafkajs' default partitioner sends them to (murmur2 of the key). */
export function byPartition(messages: readonly Message[], partitions: number): number[][] {
  const partitioner = Partitioners.DefaultPartitioner();
  const metadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));
  const groups: number[][] = Array.from({ length: partitions }, () => []);
  messages.forEach((message, index) => {
    groups[partitioner({ topic: 'bench', partitionMetadata: metadata, message })]?.push(index);
  });
  return groups.filter((group) => group.length > 0);
}

/** The same length as the original id, different for every cycle through the pool. */
export function cycledId(id: string, cycle: number): string {
  if (cycle === 0) return id;
  const suffix = cycle.toString(36);
  return `${id.slice(0, id.length - suffix.length - 1)}~${suffix}`;
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? null;
}
