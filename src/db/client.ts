import {
  MongoBulkWriteError,
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Db,
} from 'mongodb';
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
   * A FerretDB built by the local stack with shopctl's patches (scripts/stack/patches: `_id`
   * lookups through the index, `$in` of ids pushed down to SQL, atomic single-document updates,
   * every `$group` accumulator computed). Its version says so (`v1.24.0-shopctl.<hash>`).
   */
  patched: boolean;
  /**
   * Updates per write command. An unpatched FerretDB 1.24 keeps every statement's SQLite
   * iterator open until the whole command ends and hangs once a command holds its 100 pooled
   * connections (patch 0003 closes each when it finishes): there, stay far below.
   */
  updatesPerCommand: number;
}

export async function serverTraits(db: Db): Promise<ServerTraits> {
  const info = (await db.admin().command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
  if (info.ferretdbVersion) {
    const patched = info.ferretdbVersion.includes('-shopctl.');
    return { kind: 'ferretdb', version: info.ferretdbVersion, patched, updatesPerCommand: patched ? 1000 : 25 };
  }
  return { kind: 'mongodb', version: info.version ?? 'unknown', patched: false, updatesPerCommand: 1000 };
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

/**
 * Whether a driver failure says the server went away or cannot be reached: a network error
 * (refused, reset, timed out, pool cleared), no server to select within the timeout, or a
 * topology the driver closed after losing it. Not a server's answer (a write or query error).
 */
export function isMongoUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (
      current instanceof MongoNetworkError ||
      current instanceof MongoServerSelectionError ||
      current instanceof MongoTopologyClosedError ||
      current instanceof MongoServerClosedError ||
      current instanceof MongoNotConnectedError
    ) {
      return true;
    }
    // A connection lost in the middle of an insertMany or bulkWrite reaches us as a
    // MongoBulkWriteError with no write error at all, carrying the network error's message.
    if (current instanceof MongoBulkWriteError && [current.writeErrors].flat().length === 0 && NETWORK_MESSAGE.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

const NETWORK_MESSAGE = /connection .* closed|ECONNRESET|ECONNREFUSED|EPIPE|socket|timed out/i;
