import { setTimeout as sleep } from 'node:timers/promises';
import { redactUri } from '../config/redact.js';
import type { Config } from '../config/schema.js';
import { isMongoUnavailable } from '../db/client.js';
import { ServiceUnavailableError, serviceName } from '../errors.js';
import { brokersLabel, isKafkaUnavailable } from '../kafka/client.js';
import { chunkSize, type Chunk, type EventSink } from './sinks.js';

export interface PumpOptions {
  /** Events per second at most; undefined: as fast as the sink takes them. */
  rate?: number | undefined;
  onProgress?: (count: number, elapsedMs: number) => void;
  /** Stop making chunks once aborted: the chunk being sent is finished (and counted), no other is sent. */
  signal?: AbortSignal | undefined;
}

export interface PumpResult {
  count: number;
  elapsedMs: number;
  /** The signal stopped it before the chunks ran out. */
  interrupted: boolean;
}

/** Chunk size for a rate: about twenty sends a second, never more than 1000 events each. */
export function chunkForRate(rate: number | undefined, max = 1000): number {
  if (rate === undefined) return max;
  return Math.max(1, Math.min(max, Math.ceil(rate / 20)));
}

// Feeds chunks of events to a sink, pacing them when a rate is set (the schedule is kept
// against the start time, so a slow send is caught up rather than accumulated). Chunks come
// from a generator (made here, on demand) or from an async source such as a generator thread.
// An aborted signal stops it between chunks: the chunk on its way is awaited and counted, the
// one made ahead of it is dropped, and a wait for the rate ends at once.
export async function pump(chunks: Iterable<Chunk> | AsyncIterable<Chunk>, sink: EventSink, options: PumpOptions = {}): Promise<PumpResult> {
  const start = Date.now();
  const { signal } = options;
  let count = 0;
  let interrupted = false;
  const iterator = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  try {
    let next = await iterator.next();
    while (!next.done) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      const chunk = next.value;
      // Make the next chunk while this one is on its way (making is CPU, sending is I/O);
      // the sink still sees one write at a time, in order.
      const sending = sink.write(chunk);
      sending.catch(() => undefined);
      const following = Promise.resolve(iterator.next());
      following.catch(() => undefined);
      await sending;
      count += chunkSize(chunk);
      options.onProgress?.(count, Date.now() - start);
      if (options.rate !== undefined && !signal?.aborted) {
        const due = start + (count * 1000) / options.rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait, undefined, signal ? { signal } : {}).catch(() => undefined);
      }
      next = await following;
    }
  } finally {
    await iterator.return?.();
  }
  return { count, elapsedMs: Date.now() - start, interrupted };
}

// ---------------------------------------------------------------------------------------------
// A service lost in the middle of a write

export type Service = 'kafka' | 'mongodb';

/** Which service a failure says is gone (see isKafkaUnavailable, isMongoUnavailable), or null. */
export function unavailableService(error: unknown): Service | null {
  if (error instanceof ServiceUnavailableError) return error.service;
  if (isKafkaUnavailable(error)) return 'kafka';
  if (isMongoUnavailable(error)) return 'mongodb';
  return null;
}

const SOCKET_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_SOCKET_CLOSED']);

/** Whether a failure is Node's own error for a socket that broke (reset, ended by the peer...). */
export function isSocketFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
    current = current.cause;
  }
  return false;
}

/** Whether a failure is a service being unreachable (exit 4), not a fault of the command. */
export const isUnavailable = (error: unknown): boolean => unavailableService(error) !== null;

/** Where a service is, as the user configured it (a password in the MongoDB URI redacted). */
export function endpointOf(config: Config, service: Service): string {
  return service === 'kafka' ? brokersLabel(config) : redactUri(config.mongodb.uri);
}

export interface WriteProgress {
  via: 'db' | 'kafka';
  /** Events the sink had taken when it failed: written (db) or acknowledged by Kafka. */
  written: number;
  /** db: events found applied before (same ids). */
  duplicates?: number;
  /** Events the command meant to write, when known. */
  total?: number;
  /** Whether a re-run makes the same events (a seeded run, or a file's own ids). */
  repeatable: boolean;
  /** What a re-run is, for the hint (default: "run the same command again"). */
  rerun?: string;
}

/**
 * A failure in the middle of a write, explained: when a service went away, exit 4 naming it
 * (password redacted) and how much was written before; any other failure as it was.
 */
export function explainWriteFailure(error: unknown, config: Config, progress: WriteProgress): unknown {
  // Already explained (a connection that failed at start-up names its endpoint itself).
  if (error instanceof ServiceUnavailableError) return error;
  // A socket the server closed can also surface as Node's own error (the MongoDB driver passes on
  // an EPIPE met while waiting for a write to drain): mid-write, it is the service being written to.
  const service = unavailableService(error) ?? (isSocketFailure(error) ? (progress.via === 'kafka' ? 'kafka' : 'mongodb') : null);
  if (!service) return error;
  const endpoint = endpointOf(config, service);
  const verb = progress.via === 'kafka' ? 'published to Kafka' : 'written to MongoDB';
  const of = progress.total === undefined ? '' : ` of ${progress.total.toLocaleString('en-US')}`;
  const done = `${progress.written.toLocaleString('en-US')}${of} events ${verb}`;
  const earlier = progress.duplicates ? ` (and ${progress.duplicates.toLocaleString('en-US')} found applied before)` : '';
  const rerun = progress.rerun ?? 'run the same command again';
  return new ServiceUnavailableError(service, endpoint, error, {
    message: `${serviceName(service)} at ${endpoint} became unreachable during the command: ${done} before it failed${earlier}`,
    details: [
      `cause: ${withoutSecrets(config, error instanceof Error ? `${error.name}: ${error.message}` : String(error))}`,
      `the chunk in flight when it failed may have been ${progress.via === 'kafka' ? 'published' : 'written'} in part`,
    ],
    suggestion: progress.repeatable
      ? `What was written stays. Once ${serviceName(service)} is back, ${rerun}: events already written have no second effect.`
      : `What was written stays. Once ${serviceName(service)} is back, run the command again for the rest: without --seed it makes new events rather than repeating these (--seed makes a run repeatable).`,
  });
}

// A driver's message names hosts, not credentials; this makes sure no configured secret is shown.
function withoutSecrets(config: Config, text: string): string {
  const secrets = [/^[a-z][a-z0-9+.-]*:\/\/[^:/@]+:([^@]*)@/i.exec(config.mongodb.uri)?.[1], config.kafka.sasl?.password];
  return secrets.reduce<string>((clean, secret) => (secret ? clean.replaceAll(secret, '***') : clean), text);
}
