import { MongoClient, type Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { redactUri } from '../config/redact.js';
import { ServiceUnavailableError } from '../errors.js';

export interface Database {
  client: MongoClient;
  db: Db;
  server: ServerTraits;
  close(): Promise<void>;
}

export interface ServerTraits {
  kind: 'mongodb' | 'ferretdb';
  version: string;
  /**
   * Conditional updates per write command. FerretDB 1.x over SQLite keeps a pooled SQLite
   * connection open for every matched single-document update until the whole command ends, and
   * deadlocks once a command (or several at once) holds its 100 connections: there we stay far
   * below. Real MongoDB takes large batches.
   */
  updatesPerCommand: number;
  /**
   * Whether a write may be conditional on the revision read. FerretDB 1.x only uses its _id
   * index when a filter is exactly { _id }; any other filter scans and decodes the whole
   * collection for every single update (seconds per batch). There the projection writes
   * counters and profiles by _id alone and relies on a single writer per document: one
   * `consume` process per database. Stock levels are always written conditionally: decisions
   * (never below zero) rest on them.
   */
  conditionalWrites: boolean;
}

export async function serverTraits(db: Db): Promise<ServerTraits> {
  const info = (await db.admin().command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
  if (info.ferretdbVersion) return { kind: 'ferretdb', version: info.ferretdbVersion, updatesPerCommand: 25, conditionalWrites: false };
  return { kind: 'mongodb', version: info.version ?? 'unknown', updatesPerCommand: 1000, conditionalWrites: true };
}

// Connects and pings, so that an unreachable server fails here, within the configured
// server-selection timeout, with the endpoint named (password redacted).
export async function connectDatabase(config: Config, dbName = config.mongodb.db): Promise<Database> {
  const timeout = config.mongodb.serverSelectionTimeoutMs;
  const client = new MongoClient(config.mongodb.uri, {
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: timeout,
    appName: 'shopctl',
  });
  try {
    await client.connect();
    await client.db(dbName).command({ ping: 1 });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new ServiceUnavailableError('mongodb', redactUri(config.mongodb.uri), error);
  }
  const db = client.db(dbName);
  const server = await serverTraits(db);
  return { client, db, server, close: () => client.close() };
}
