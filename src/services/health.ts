import { isMongoUnavailable } from '../db/client.js';
import { ServiceUnavailableError } from '../errors.js';
import { isKafkaUnavailable } from '../kafka/client.js';
import { withAdmin } from '../kafka/topics.js';
import type { FreshnessState } from '../domain/availability.js';
import type { Context } from './context.js';
import { storesView } from './stores.js';

// `GET /healthz`: can shopctl reach Kafka and MongoDB, and how fresh is each store.

export interface Reach {
  reachable: boolean;
  ms: number | null;
  /** What went wrong, in words (never an address: a URI may carry a password). */
  error: string | null;
}

export interface Health {
  status: 'ok' | 'unavailable';
  kafka: Reach;
  mongodb: Reach;
  stores: { fresh: number; stale: number; unknown: number; list: Array<{ store: string; freshness: FreshnessState; ageMs: number | null }> };
}

async function timed(work: () => Promise<unknown>, timeoutMs: number): Promise<Reach> {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { reachable: true, ms: Date.now() - start, error: null };
  } catch (error) {
    const said = error instanceof ServiceUnavailableError ? 'not reachable' : error instanceof Error ? error.message.split('\n')[0]! : 'unreachable';
    return { reachable: false, ms: null, error: said.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<uri>') };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(context: Context, now = new Date()): Promise<Health> {
  const timeoutMs = Math.max(context.config.kafka.connectionTimeoutMs, context.config.mongodb.serverSelectionTimeoutMs) + 500;
  const [kafka, mongodb] = await Promise.all([
    timed(() => withAdmin(context.kafka(), context.config, (admin) => admin.describeCluster()), timeoutMs),
    timed(async () => (await context.database()).db.command({ ping: 1 }), timeoutMs),
  ]);
  const stores: Health['stores'] = { fresh: 0, stale: 0, unknown: 0, list: [] };
  if (mongodb.reachable) {
    for (const row of (await storesView(context, now)).stores) {
      stores[row.freshness] += 1;
      stores.list.push({ store: row.store, freshness: row.freshness, ageMs: row.ageMs });
    }
  }
  return { status: kafka.reachable && mongodb.reachable ? 'ok' : 'unavailable', kafka, mongodb, stores };
}

/** Which service an error says is away (a lost connection in the middle of a request), if any. */
export function unavailableService(error: unknown): 'kafka' | 'mongodb' | null {
  if (error instanceof ServiceUnavailableError) return error.service;
  if (isMongoUnavailable(error)) return 'mongodb';
  if (isKafkaUnavailable(error)) return 'kafka';
  return null;
}
