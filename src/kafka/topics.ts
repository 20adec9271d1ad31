import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config/schema.js';
import type { Stream } from '../domain/routing.js';
import { ConfigError, ShopctlError } from '../errors.js';
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
  return [topics.customers, topics.catalog, topics.inventory, topics.reservations];
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
    try {
      await admin.createTopics({
        // kafkajs's own wait tolerates only LEADER_NOT_AVAILABLE; see topicsWithLeaders.
        waitForLeaders: false,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: config.kafka.partitions,
          replicationFactor: config.kafka.replicationFactor,
        })),
      });
    } catch (error) {
      throw await explainCreateFailure(admin, config, error);
    }
  }
  const metadata = await topicsWithLeaders(admin, topics);
  return metadata.topics.map((topic) => ({
    topic: topic.name,
    created: missing.includes(topic.name),
    partitions: topic.partitions.length,
  }));
}

interface TopicError {
  topic: string;
  type: string;
  message: string;
}

// kafkajs reports refused topics as a KafkaJSAggregateError ("Topic creation errors") holding one
// KafkaJSCreateTopicError per topic (its `type` is the broker's code), on its own or wrapped.
function topicErrorsOf(error: unknown, depth = 0): TopicError[] {
  if (!(error instanceof Error) || depth > 5) return [];
  const { errors, cause, originalError } = error as Error & { errors?: unknown; originalError?: unknown };
  if (Array.isArray(errors)) {
    return errors
      .filter((e): e is Error & { topic: string; type?: string } => e instanceof Error && typeof (e as { topic?: unknown }).topic === 'string')
      .map((e) => ({ topic: e.topic, type: e.type ?? e.name, message: e.message }));
  }
  return topicErrorsOf(cause ?? originalError, depth + 1);
}

/**
 * A topic the broker refused to create, named with why: a replication factor above the brokers
 * there are is a configuration error (exit 2, like any invalid setting) saying how many there are.
 */
async function explainCreateFailure(admin: Admin, config: Config, error: unknown): Promise<unknown> {
  const refused = topicErrorsOf(error).filter((e) => e.type !== 'TOPIC_ALREADY_EXISTS');
  if (refused.length === 0) return error;
  const names = (list: TopicError[]) => `${list[0]!.topic}${list.length > 1 ? ` (and ${list.length - 1} more)` : ''}`;
  // One line for the topics refused: each with its code when they differ.
  const sameType = refused.every((e) => e.type === refused[0]!.type);
  const details = refused.length > 1 ? [`not created: ${refused.map((e) => (sameType ? e.topic : `${e.topic} (${e.type})`)).join(', ')}`] : [];
  const factor = refused.filter((e) => e.type === 'INVALID_REPLICATION_FACTOR');
  if (factor.length > 0) {
    const brokers = await admin
      .describeCluster()
      .then((cluster) => cluster.brokers.length)
      .catch(() => null);
    const { replicationFactor } = config.kafka;
    const available = brokers === null ? 'more than the brokers available' : `> ${brokers} broker${brokers === 1 ? '' : 's'} available`;
    return new ConfigError(`Cannot create topic ${names(factor)}: replication factor ${replicationFactor} ${available}`, {
      details,
      suggestion: `Set kafka.replicationFactor to ${brokers ?? 'the number of brokers'} or less (in the config file; \`shopctl config show\` says where it is set).`,
      cause: error,
    });
  }
  const [first] = refused;
  const invalidSetting = first!.type === 'INVALID_PARTITIONS' || first!.type === 'INVALID_CONFIG';
  const reason = `${first!.message} (${first!.type})`;
  if (invalidSetting) {
    return new ConfigError(`Cannot create topic ${names(refused)}: ${reason}`, { details, suggestion: 'Check kafka.partitions and kafka.replicationFactor (`shopctl config show`).', cause: error });
  }
  return new ShopctlError(`Cannot create topic ${names(refused)}: ${reason}`, {
    code: 'KAFKA_TOPIC_NOT_CREATED',
    details,
    suggestion: 'Create the topics with an account allowed to (`shopctl topics create`), or check the broker log.',
    cause: error,
  });
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

/**
 * The lag of a consumer group over `topics`, asked again and again through one admin connection
 * (connected on first use, and again after a failure): `serve --consume` reports it about once a
 * second on its live stream.
 */
export function lagMonitor(kafka: Kafka, config: Config, groupId: string, topics: readonly string[]): { lag(): Promise<number>; close(): Promise<void> } {
  let admin: Admin | null = null;
  const drop = async (): Promise<void> => {
    const was = admin;
    admin = null;
    await was?.disconnect().catch(() => undefined);
  };
  return {
    async lag() {
      try {
        if (admin === null) {
          const created = kafka.admin();
          await connectOrExplain(config, () => created.connect());
          admin = created;
        }
        const rows = await groupLag(admin, groupId, topics);
        return rows.reduce((sum, row) => sum + Math.max(0, row.lag), 0);
      } catch (error) {
        await drop();
        throw error;
      }
    },
    close: drop,
  };
}
