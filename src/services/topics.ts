import { allTopics, ensureTopics, groupLag, projectedTopics, withAdmin, type PartitionLag, type TopicCreation } from '../kafka/topics.js';
import type { Context } from './context.js';

export type { PartitionLag, TopicCreation };

/** Creates the configured topics that are missing. */
export function createTopics(context: Context): Promise<TopicCreation[]> {
  return withAdmin(context.kafka(), context.config, (admin) => ensureTopics(admin, context.config));
}

/** Partitions, end offsets and the group's lag, for the topics the group reads that exist. */
export function describeTopics(context: Context, groupId: string): Promise<PartitionLag[]> {
  const { config } = context;
  // The group reads the projected topics and the retry topic; the others have no lag to show.
  const read = new Set([...projectedTopics(config), config.kafka.topics.retry]);
  return withAdmin(context.kafka(), config, async (admin) => {
    const existing = new Set(await admin.listTopics());
    return groupLag(admin, groupId, allTopics(config).filter((topic) => existing.has(topic) && read.has(topic)));
  });
}
