import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config/schema.js';
import type { Stream } from '../domain/routing.js';
import { connectOrExplain } from './client.js';

export function topicOf(config: Config, stream: Stream): string {
  return config.kafka.topics[stream];
}

/** Every topic shopctl uses, in a stable order. */
export function allTopics(config: Config): string[] {
  return Object.values(config.kafka.topics);
}

/** The topics `consume` projects from. */
export function projectedTopics(config: Config): string[] {
  const { topics } = config.kafka;
  return [topics.customers, topics.catalog, topics.inventory];
}

export interface TopicCreation {
  topic: string;
  created: boolean;
  partitions: number;
}

// Creates whichever of the topics is missing with the configured partition count. Existing
// topics are left as they are (their partition count is reported, not changed).
export async function ensureTopics(admin: Admin, config: Config, topics = allTopics(config)): Promise<TopicCreation[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    await admin.createTopics({
      // kafkajs's own wait tolerates only LEADER_NOT_AVAILABLE; see topicsWithLeaders.
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: config.kafka.partitions,
        replicationFactor: config.kafka.replicationFactor,
      })),
    });
  }
  const metadata = await topicsWithLeaders(admin, topics);
  return metadata.topics.map((topic) => ({
    topic: topic.name,
    created: missing.includes(topic.name),
    partitions: topic.partitions.length,
  }));
}

const SETTLE_MS = 30_000;
// What a broker answers about a partition whose creation it has not applied yet.
const UNSETTLED = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER']);

// kafkajs throws the broker's error, or wraps it once its retries are spent.
function unsettled(error: unknown): boolean {
  const { type, cause, originalError } = (error ?? {}) as { type?: string; cause?: unknown; originalError?: unknown };
  if (type && UNSETTLED.has(type)) return true;
  const inner = cause ?? originalError;
  return inner !== undefined && inner !== error && unsettled(inner);
}

// The topics' metadata once every partition has a leader. In KRaft mode a broker can answer
// UNKNOWN_TOPIC_OR_PARTITION for a moment after a topic was created (seen right after the local
// broker started, with many topics created at once), which kafkajs's createTopics does not wait out.
async function topicsWithLeaders(admin: Admin, topics: string[]): Promise<Awaited<ReturnType<Admin['fetchTopicMetadata']>>> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics });
      if (metadata.topics.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0))) return metadata;
    } catch (error) {
      if (!unsettled(error) || Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics without a leader after ${SETTLE_MS / 1000}s: ${topics.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function withAdmin<T>(kafka: Kafka, config: Config, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await connectOrExplain(config, () => admin.connect());
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

export interface PartitionLag {
  topic: string;
  partition: number;
  endOffset: number;
  committed: number | null;
  lag: number;
}

// End offsets against the group's committed offsets; a partition the group never committed
// counts its whole content as lag.
export async function groupLag(admin: Admin, groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
  if (topics.length === 0) return [];
  const committed = await withCoordinatorRetry(() => admin.fetchOffsets({ groupId, topics: [...topics] }));
  const rows: PartitionLag[] = [];
  for (const topic of topics) {
    const ends = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
    const group = committed.find((entry) => entry.topic === topic);
    for (const end of ends) {
      const endOffset = Number(end.high);
      const start = Number(end.low);
      const raw = group?.partitions.find((p) => p.partition === end.partition)?.offset;
      // Negative offsets (-1 none, -2 earliest marker) mean nothing committed.
      const value = raw === undefined || Number(raw) < 0 ? null : Number(raw);
      rows.push({
        topic,
        partition: end.partition,
        endOffset,
        committed: value,
        lag: endOffset - (value ?? start),
      });
    }
  }
  return rows;
}

// A group that has never been used has no coordinator yet; the broker says so once, briefly.
async function withCoordinatorRetry<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (attempt >= 5 || !/coordinator/i.test(message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
    }
  }
}
