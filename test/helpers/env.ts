import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient, type Db } from 'mongodb';
import { deepMerge } from '../../src/config/load.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import { serverTraits, type ServerTraits } from '../../src/db/client.js';

/** A short random suffix: every test file gets its own database, topics and groups. */
export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

/** Configuration for one test: unique database and topic names on the local stack. */
export function testConfig(overrides: Record<string, unknown> = {}): Config {
  const id = randomBytes(4).toString('hex');
  const topics = Object.fromEntries(Object.entries(defaultConfig.kafka.topics).map(([key, name]) => [key, `t${id}.${name}`]));
  const base: Record<string, unknown> = {
    ...defaultConfig,
    kafka: {
      ...defaultConfig.kafka,
      brokers: process.env.SHOPCTL_KAFKA_BROKERS?.split(',') ?? defaultConfig.kafka.brokers,
      groupId: `g${id}`,
      topics,
    },
    mongodb: { ...defaultConfig.mongodb, uri: process.env.SHOPCTL_MONGODB_URI ?? defaultConfig.mongodb.uri, db: `test_${id}` },
    consume: { maxRetries: 3, retryBackoffMs: 200 },
  };
  return deepMerge(base, overrides) as unknown as Config;
}

/** SHOPCTL_* variables that make the CLI use a test configuration. */
export function cliEnv(config: Config): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NO_COLOR: '1',
    SHOPCTL_KAFKA_BROKERS: config.kafka.brokers.join(','),
    SHOPCTL_MONGODB_URI: config.mongodb.uri,
    SHOPCTL_MONGODB_DB: config.mongodb.db,
    SHOPCTL_KAFKA_GROUP_ID: config.kafka.groupId,
  };
}

export interface TestMongo {
  client: MongoClient;
  db: Db;
  server: ServerTraits;
  drop(): Promise<void>;
}

export async function connectTestMongo(config: Config): Promise<TestMongo> {
  const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const db = client.db(config.mongodb.db);
  const server = await serverTraits(db);
  return {
    client,
    db,
    server,
    drop: async () => {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}

export function testKafka(config: Config): Kafka {
  return new Kafka({ clientId: 'shopctl-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
}

/** How many records a topic holds (the sum of its partitions' end offsets); 0 when it does not exist. */
export async function topicEnd(config: Config, topic: string): Promise<number> {
  const admin = testKafka(config).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    // A topic created a moment ago may have no leader yet (KRaft answers NOT_LEADER or
    // UNKNOWN_TOPIC_OR_PARTITION for a while, as on a freshly started broker): ask again.
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
