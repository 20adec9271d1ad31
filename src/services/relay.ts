import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseTimeoutError } from '../db/leases.js';
import { mongoOutboxStore, RELAY_LEASE, type IntentInFlight, type OutboxHead, type OutboxStore } from '../db/outbox-store.js';
import { validateEvent } from '../domain/events.js';
import type { OutboxRecord } from '../domain/projection-port.js';
import { routeOf, type Stream } from '../domain/routing.js';
import { ShopctlError } from '../errors.js';
import { eventMessage } from '../kafka/codec.js';
import { connectPublisher, type EncodedChunk } from '../kafka/publisher.js';
import { logger } from '../log.js';
import type { Context } from './context.js';
import { projectionOn } from './projection.js';

// `shopctl relay`: the outbox of the db path, published to Kafka (the CDC of the original system,
// without Debezium). At least once: a record is deleted only after Kafka acknowledged it (acks
// all), so a relay killed at any point publishes it again when restarted; consumers recognise a
// repeat by its event id (the projection's journal).
//
// Order per key. Records are read oldest `_id` first (`at.intent.index`: the order the writer
// applied them, see OutboxRecord) and published in that order, one batch at a time.
//
// Nothing that may still be undone. A record is published only when its write intent is complete.
// A writer saves its intent (head), then inserts its outbox records, ..., then drops the head; one
// that gives way (a clash, or a crashed writer undone by another) deletes its records BEFORE it
// drops the head. So the relay reads in this order: (1) the record ids (the window), (2) the heads
// in flight: the batch stops at the first record whose head is still there, (3) the records
// themselves by id. A record seen in (1) whose head was gone in (2) and that is still there in (3)
// belongs to a complete intent: an undone one would have lost its records before its head.
// Reading the heads before the records, or skipping (3), could publish a record being undone.
//
// One relay publishes at a time: it holds the lease `relay:outbox` (db/leases, renewed by its
// heartbeat) for its whole run. Per run rather than per batch, because batches are pipelined
// (the next one is read while this one is sent, and this one deleted while the next is sent),
// which a lease per batch would cut; and a per-batch lease let a second relay starve (the first
// takes it back at once). A second relay waits as a standby, says so, and takes over when the
// first stops; a killed relay's lease is taken over at once by a restart on the same host
// (after its 10 s expiry from another host).
//
// Pipelining keeps the order: batch k+1 is sent only after Kafka acknowledged batch k, and a
// new scan of the outbox waits for every delete before it, so nothing deleted late is read again.

const log = logger.namespace('relay');
type Message = EncodedChunk['messages'][number];

/**
 * Record ids read per scan of the outbox, the window the batches are taken from. FerretDB over
 * SQLite sorts after a full scan (no sort push-down): one scan per window instead of one per
 * batch. New records with a smaller `_id` that arrive meanwhile are of other keys (a key's
 * writes are one after another, under its lease) and are read by the next scan.
 */
export const WINDOW = 20_000;
/** The largest batch: one `_id $in` that FerretDB pushes down to SQL. */
export const MAX_BATCH = 1000;
export const DEFAULT_BATCH = 1000;
/**
 * A write in flight for longer than this was left by a crashed writer (a live one finishes in
 * seconds, and its leases expire 10 s after it stops renewing them): the relay completes or undoes
 * it, as the next writer of its documents would, instead of waiting for one that may never come.
 */
export const STALE_INTENT_MS = 30_000;

export interface DrainResult {
  /** The intent in flight the relay stopped at, if it did. */
  blocked: IntentInFlight | null;
  /** A fresh read found the outbox empty. */
  empty: boolean;
}

export interface RelayMessage {
  stream: Stream;
  message: Message;
}

export interface Relay {
  /**
   * Publishes batch after batch (each sent, acknowledged, then deleted) until there is nothing to
   * publish now (the outbox is empty, or its oldest record's write is in flight) or `stop()` says
   * so after a batch. Run it holding the relay's lease.
   */
  drain(stop: () => boolean, published: (count: number) => void): Promise<DrainResult>;
}

interface Batch extends DrainResult {
  records: OutboxRecord[];
}

/** The relay over a store and a publisher (`send` resolves once Kafka acknowledged every message). */
export function createRelay(store: OutboxStore, send: (messages: RelayMessage[]) => Promise<void>, options: { batch: number; window?: number }): Relay {
  const windowSize = Math.max(options.window ?? WINDOW, options.batch);
  let window: OutboxHead[] = [];
  // Deletes of published batches, one after another; a scan waits for them, and before that for
  // the batch in hand to be sent and its delete queued (else a scan would read it again).
  let deleting: Promise<void> = Promise.resolve();
  let inHand: Promise<void> = Promise.resolve();

  // The next batch, read in the order explained above: ids (window), heads in flight, records.
  const next = async (): Promise<Batch> => {
    for (;;) {
      if (window.length === 0) {
        await inHand;
        await deleting;
        const started = Date.now();
        window = await store.oldest(windowSize);
        log.debug('outbox scanned', { records: window.length, ms: Date.now() - started });
        if (window.length === 0) return { records: [], blocked: null, empty: true };
      }
      const inFlight = new Map((await store.inFlight()).map((intent) => [intent._id, intent]));
      const taken: OutboxHead[] = [];
      let blocked: IntentInFlight | null = null;
      for (const head of window) {
        if (taken.length === options.batch) break;
        blocked = inFlight.get(head.intent) ?? null;
        if (blocked) break;
        taken.push(head);
      }
      if (taken.length === 0) return { records: [], blocked, empty: false };
      // Those gone by now were undone by their writer: not published.
      const records = await store.fetch(taken.map((head) => head._id));
      window = window.slice(taken.length);
      if (records.length > 0 || blocked) return { records, blocked, empty: false };
    }
  };

  const remove = (ids: string[]): void => {
    deleting = deleting.then(async () => {
      const deleted = await store.remove(ids);
      if (deleted !== ids.length) log.warn('fewer outbox records deleted than published (deleted meanwhile by someone else?)', { published: ids.length, deleted });
    });
    deleting.catch(() => undefined); // reported where it is awaited
  };

  return {
    async drain(stop, published) {
      let reading = next();
      try {
        for (;;) {
          const batch = await reading;
          if (batch.records.length === 0) return { blocked: batch.blocked, empty: batch.empty };
          const messages = batch.records.map(messageOf);
          // Read the next batch while this one is sent (reads only: safe whatever happens next);
          // a new scan in it waits until this batch is sent and its delete queued (see next).
          let sentAndQueued!: () => void;
          inHand = new Promise((resolve) => (sentAndQueued = resolve));
          reading = batch.blocked ? Promise.resolve({ records: [], blocked: batch.blocked, empty: false }) : next();
          reading.catch(() => undefined); // reported where it is awaited
          const started = Date.now();
          try {
            await send(messages);
            // At most one delete behind: what a kill can leave published and not deleted (and
            // so published again) is this batch and the one before it.
            await deleting;
            remove(batch.records.map((record) => record._id));
          } finally {
            sentAndQueued();
          }
          log.debug('batch published', { records: batch.records.length, publishMs: Date.now() - started });
          published(batch.records.length);
          // What was read ahead is only read: left to finish on its own.
          if (stop()) return { blocked: null, empty: false };
        }
      } finally {
        await deleting;
      }
    },
  };
}

/** The Kafka message of a record: its value as written (the envelope), keyed and routed like the kafka path. */
export function messageOf(record: OutboxRecord): RelayMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.value);
  } catch (error) {
    throw invalidRecord(record, `not JSON: ${(error as Error).message}`);
  }
  const result = validateEvent(parsed);
  if (!result.ok) throw invalidRecord(record, result.message);
  const { stream, key } = routeOf(result.event);
  return { stream, message: eventMessage(key, record.value, result.event.id, result.event.type) };
}

function invalidRecord(record: OutboxRecord, why: string): ShopctlError {
  return new ShopctlError(`outbox record ${record._id} is not a valid event (${why}); the relay stopped before it`, {
    code: 'OUTBOX_RECORD_INVALID',
    suggestion: `Nothing after it was published. Inspect it in the 'outbox' collection (_id ${record._id}); once it is repaired or deleted, run the relay again.`,
  });
}

export interface RelayProgress {
  published: number;
  batches: number;
  /** The intent in flight the relay waits for, if it waits for one. */
  blocked: IntentInFlight | null;
  /** Another relay holds the lease: this one waits. */
  standby: boolean;
  /** Writes left in flight by crashed writers that this relay completed or undid. */
  recovered: number;
}

export interface RelayOptions {
  batch: number;
  /** How long to wait when there is nothing to publish (empty, or blocked by an intent in flight). */
  everyMs: number;
  /** Stop once the outbox is empty. */
  untilEmpty: boolean;
  /** Stops the relay after the batch in hand. */
  signal: AbortSignal;
  onProgress?: (progress: RelayProgress) => void;
}

export interface RelayTotals {
  published: number;
  /** Batches that published something. */
  batches: number;
  elapsedMs: number;
  /** Writes left in flight by crashed writers that this relay completed or undid. */
  recovered: number;
  /** Why it stopped: the outbox was empty (--until-empty), or a signal. */
  stopped: 'empty' | 'signal';
}

/** `relay`: publishes the outbox of the configured database to the configured topics until stopped. */
export async function runRelay(context: Context, options: RelayOptions): Promise<RelayTotals> {
  const started = Date.now();
  const { db } = await context.database();
  const publisher = await connectPublisher(context.kafka(), context.config);
  const store = mongoOutboxStore(db);
  const relay = createRelay(
    store,
    async (messages) => {
      // Per stream, in order: a key belongs to one stream, so its order holds.
      for (const [stream, list] of groupByStream(messages)) await publisher.publishEncoded({ stream, messages: list });
    },
    { batch: options.batch },
  );
  const projection = projectionOn(await context.database());
  const progress: RelayProgress = { published: 0, batches: 0, blocked: null, standby: false, recovered: 0 };
  const report = () => options.onProgress?.({ ...progress });
  const stopped = (): boolean => options.signal.aborted;
  const totals = (why: RelayTotals['stopped']): RelayTotals => ({
    published: progress.published,
    batches: progress.batches,
    recovered: progress.recovered,
    elapsedMs: Date.now() - started,
    stopped: why,
  });

  // The writer of a stale intent crashed: complete or undo its write (under its documents' leases,
  // which a writer still at it would hold). False when it is gone, or still held after a minute.
  const recoverLeft = async (id: string): Promise<boolean> => {
    try {
      const done = await projection.recover(id);
      if (done) log.info('completed or undid a write left in flight by a crashed writer', { intent: id });
      return done;
    } catch (error) {
      if (error instanceof LeaseTimeoutError) return false;
      throw error;
    }
  };

  // Under the lease: drain, wait, drain again, until the signal (or an empty outbox).
  const work = async (): Promise<RelayTotals> => {
    if (stopped()) return totals('signal');
    progress.standby = false;
    report();
    while (!stopped()) {
      const drained = await relay.drain(stopped, (count) => {
        progress.published += count;
        progress.batches += 1;
        progress.blocked = null;
        report();
      });
      if (drained.empty && options.untilEmpty) return totals('empty');
      if (drained.blocked?._id !== progress.blocked?._id) {
        progress.blocked = drained.blocked;
        report();
      }
      if (drained.blocked && Date.now() - Date.parse(drained.blocked.at) > STALE_INTENT_MS && (await recoverLeft(drained.blocked._id))) {
        progress.recovered += 1;
        progress.blocked = null;
        report();
        continue;
      }
      if (!stopped()) await sleep(options.everyMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
    return totals('signal');
  };

  try {
    while (!stopped()) {
      // Said while the lease is awaited: another relay is publishing.
      const standby = setTimeout(() => {
        progress.standby = true;
        report();
      }, 1000);
      let leased = false;
      const running = store.withRelayLease(() => {
        leased = true;
        clearTimeout(standby);
        return work();
      });
      running.catch(() => undefined); // reported below, unless a signal came first
      const aborted = new Promise<null>((resolve) => {
        if (stopped()) resolve(null);
        else options.signal.addEventListener('abort', () => resolve(null), { once: true });
      });
      try {
        const result = await Promise.race([running, aborted]);
        if (result) return result;
        // A signal: a relay at work finishes its batch (work sees the signal); a standby stops now.
        return leased ? await running : totals('signal');
      } catch (error) {
        if (!(error instanceof LeaseTimeoutError)) throw error;
        log.info('another relay still holds the lease: waiting on', { lease: RELAY_LEASE });
      } finally {
        clearTimeout(standby);
      }
    }
    return totals('signal');
  } finally {
    await publisher.disconnect();
  }
}

function groupByStream(messages: readonly RelayMessage[]): Map<Stream, Message[]> {
  const byStream = new Map<Stream, Message[]>();
  for (const { stream, message } of messages) byStream.set(stream, [...(byStream.get(stream) ?? []), message]);
  return byStream;
}

export interface RelayStatus {
  /** Records waiting to be published. */
  waiting: number;
  /** The oldest record: its id, when its writer wrote it, and how long ago. */
  oldest: { id: string; writtenAt: string | null; ageMs: number | null } | null;
  /** Write intents in flight (their records wait until they are complete). */
  inFlight: number;
  /** The intent in flight the oldest record belongs to: the relay waits for it. */
  blockedBy: { intent: string; at: string; ageMs: number } | null;
}

/** `relay --status`: the backlog. */
export async function relayStatus(context: Context, now: () => Date = () => new Date()): Promise<RelayStatus> {
  const { db } = await context.database();
  const store = mongoOutboxStore(db);
  const [waiting, [first], inFlight] = await Promise.all([store.count(), store.oldest(1), store.inFlight()]);
  const at = now().getTime();
  const writtenAt = first ? writtenAtOf(first._id) : null;
  const blocking = first ? inFlight.find((intent) => intent._id === first.intent) : undefined;
  return {
    waiting,
    oldest: first ? { id: first._id, writtenAt, ageMs: writtenAt ? Math.max(0, at - Date.parse(writtenAt)) : null } : null,
    inFlight: inFlight.length,
    blockedBy: blocking ? { intent: blocking._id, at: blocking.at, ageMs: Math.max(0, at - Date.parse(blocking.at)) } : null,
  };
}

/** The writer's time at the start of an outbox id (`<ISO time>.<intent>.<index>`). */
export function writtenAtOf(id: string): string | null {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)\./.exec(id);
  return match?.[1] ?? null;
}
