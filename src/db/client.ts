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
   * Whether a write may be conditional on the revision read. FerretDB 1.x evaluates any filter
   * but an exact { _id } by decoding every document of the collection, for every single update
   * (seconds per batch), and then updates by _id in a second step, so a condition is not even
   * atomic there. On FerretDB the projection writes by _id alone: counters and profiles rely on a
   * single writer per document (one `consume` per database), stock levels on leases every writer
   * takes (db/stock-locks.ts) and on one check of their revisions per batch.
   */
  conditionalWrites: boolean;
  /**
   * Whether the server finds a document by _id through its index. FerretDB 1.24 (SQLite) does
   * not: its _id index is built on `sjson->"_id"` and its queries ask for `sjson->'$._id'`, which
   * SQLite does not match to the index, so every read, update and delete by _id is a scan.
   */
  indexedIdLookups: boolean;
}

export async function serverTraits(db: Db): Promise<ServerTraits> {
  const info = (await db.admin().command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
  if (info.ferretdbVersion) return { kind: 'ferretdb', version: info.ferretdbVersion, updatesPerCommand: 25, conditionalWrites: false, indexedIdLookups: false };
  return { kind: 'mongodb', version: info.version ?? 'unknown', updatesPerCommand: 1000, conditionalWrites: true, indexedIdLookups: true };
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
