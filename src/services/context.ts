import type { Kafka } from 'kafkajs';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { connectDatabase, type Database } from '../db/client.js';
import { ensureIndexes } from '../db/collections.js';
import { createKafka } from '../kafka/client.js';
import { createOutput, type Output } from '../ui/output.js';
import { databaseWriter, kafkaWriter, type EventWriter } from './writer.js';

export interface GlobalOptions {
  config?: string;
  brokers?: string;
  mongodbUri?: string;
  db?: string;
  color?: boolean;
  /** --wide: tables in full on a terminal too. */
  wide?: boolean;
}

export interface Context {
  loaded: LoadedConfig;
  config: Config;
  output: Output;
  kafka(): Kafka;
  database(): Promise<Database>;
  /**
   * The process's writer for a path (services/writer.ts), opened on first use: a few events at a
   * time, on one connection, grouped with whatever else is being written. Closed by close().
   */
  writer(via: 'db' | 'kafka'): Promise<EventWriter>;
  close(): Promise<void>;
}

export function flagsToConfig(options: GlobalOptions): Record<string, unknown> {
  const kafka: Record<string, unknown> = {};
  const mongodb: Record<string, unknown> = {};
  if (options.brokers) kafka.brokers = options.brokers.split(',').map((broker) => broker.trim()).filter(Boolean);
  if (options.mongodbUri) mongodb.uri = options.mongodbUri;
  if (options.db) mongodb.db = options.db;
  return { ...(Object.keys(kafka).length ? { kafka } : {}), ...(Object.keys(mongodb).length ? { mongodb } : {}) };
}

// Connections are opened on first use and closed once, whatever the command did.
export async function createContext(options: GlobalOptions, overrides: Record<string, unknown> = {}): Promise<Context> {
  const output = createOutput({ ...(options.color === false ? { color: false } : {}), wide: options.wide === true });
  const loaded = await loadConfig({ configPath: options.config, flags: { ...flagsToConfig(options), ...overrides } });
  const { config } = loaded;
  let kafka: Kafka | undefined;
  let database: Promise<Database> | undefined;
  const writers = new Map<'db' | 'kafka', EventWriter>();
  const context: Context = {
    loaded,
    config,
    output,
    kafka: () => (kafka ??= createKafka(config)),
    // A failed connection is not remembered: the next call (a watcher's next try) connects again.
    database: () =>
      (database ??= connectDatabase(config)
        .then(async (db) => {
          await ensureIndexes(db.db, db.server);
          return db;
        })
        .catch((error: unknown) => {
          database = undefined;
          throw error;
        })),
    writer: async (via) => {
      let writer = writers.get(via);
      if (!writer) {
        writer = via === 'db' ? databaseWriter(await context.database(), config) : kafkaWriter(context.kafka(), config);
        writers.set(via, writer);
      }
      return writer;
    },
    close: async () => {
      // Writers first (their writes in flight end), then the database under them.
      await Promise.all([...writers.values()].map((writer) => writer.close().catch(() => undefined)));
      writers.clear();
      if (database) await (await database.catch(() => null))?.close();
    },
  };
  return context;
}
