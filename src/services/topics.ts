import { allTopics, ensureTopics, groupLag, lagMonitor, projectedTopics, withAdmin, type PartitionLag, type TopicCreation } from '../kafka/topics.js';
import type { Context } from './context.js';

export type { PartitionLag, TopicCreation };

/** Creates the configured topics that are missing. */
export function createTopics(context: Context): Promise<TopicCreation[]> {
  return withAdmin(context.kafka(), context.config, (admin) => ensureTopics(admin, context.config));
}

/** One partition of a shopctl topic, and where the group stands in it (null: the group does not read that topic). */
export interface DescribedPartition {
  topic: string;
  /** The config key of the topic: customers, catalog, inventory, retry, dlq, importErrors, alerts. */
  role: string;
  partition: number;
  endOffset: number;
  committed: number | null;
  lag: number | null;
}

export interface TopicsDescription {
  partitions: DescribedPartition[];
  /** Configured topics that do not exist yet. */
  missing: string[];
}

/**
 * Every topic shopctl uses, with partitions and end offsets; committed offsets and lag for the
 * topics the group reads (the projected topics and the retry topic). The others (dead letters,
 * import errors, alerts) have no lag: `consume` does not read them.
 */
export function describeTopics(context: Context, groupId: string): Promise<TopicsDescription> {
  const { config } = context;
  const read = new Set([...projectedTopics(config), config.kafka.topics.retry]);
  const roles = new Map(Object.entries(config.kafka.topics).map(([role, topic]) => [topic, role]));
  return withAdmin(context.kafka(), config, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const topics = allTopics(config).filter((topic) => existing.has(topic));
    const rows = await groupLag(admin, groupId, topics);
    return {
      partitions: rows.map((row) => ({
        topic: row.topic,
        role: roles.get(row.topic) ?? '',
        partition: row.partition,
        endOffset: row.endOffset,
        committed: read.has(row.topic) ? row.committed : null,
        lag: read.has(row.topic) ? row.lag : null,
      })),
      missing: allTopics(config).filter((topic) => !existing.has(topic)),
    };
  });
}

/** The lag of the group `consume` (or `serve --consume`) runs as, over the topics it reads, through one kept connection. */
export function consumerLag(context: Context, groupId: string): { lag(): Promise<number>; close(): Promise<void> } {
  const { config } = context;
  return lagMonitor(context.kafka(), config, groupId, [...projectedTopics(config), config.kafka.topics.retry]);
}
