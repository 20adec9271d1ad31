import type { Db } from 'mongodb';
import type { OutboxRecord } from '../domain/projection-port.js';
import { INTENTS, OUTBOX } from './collections.js';
import { withLeases } from './leases.js';

/** An outbox record without its value: what the relay orders and checks before fetching. */
export type OutboxHead = Pick<OutboxRecord, '_id' | 'intent'>;

/** A write intent still in flight: its id and when its writer wrote it. */
export interface IntentInFlight {
  _id: string;
  at: string;
}

/** What `shopctl relay` needs from storage (services/relay.ts); an in-memory one in the unit tests. */
export interface OutboxStore {
  /** Runs `work` holding the relay's lease (one relay publishes at a time). */
  withRelayLease<T>(work: () => Promise<T>): Promise<T>;
  /** Up to `limit` records, oldest `_id` first, without their values. */
  oldest(limit: number): Promise<OutboxHead[]>;
  /** Those of these records that are still there, with their values, in `_id` order. */
  fetch(ids: readonly string[]): Promise<OutboxRecord[]>;
  /** The intents in flight (their heads are still in `intents`). */
  inFlight(): Promise<IntentInFlight[]>;
  /** Deletes these records (published); returns how many were deleted. */
  remove(ids: readonly string[]): Promise<number>;
  /** How many records wait. */
  count(): Promise<number>;
}

/** The one lease key of the relay: whoever holds it publishes (db/leases). */
export const RELAY_LEASE = 'relay:outbox';

// The patched FerretDB pushes `_id: { $in }` down to SQL for up to 1000 ids
// (scripts/stack/patches/0002); a longer list decodes the whole collection.
const IN_AT_MOST = 1000;

/**
 * The outbox on MongoDB (or FerretDB). Every read is by `_id`: FerretDB 1.24 over SQLite pushes
 * only `_id` equality and `$in` down to SQL; a sort (even on `_id`) and a limit are done after a
 * full scan (measured: sortPushdown false, ~0.9 s for 10,000 records of 400 bytes), which is why
 * `oldest` asks for ids only and the relay reads a window of many batches per scan.
 */
export function mongoOutboxStore(db: Db): OutboxStore {
  const outbox = db.collection<OutboxRecord>(OUTBOX);
  const heads = db.collection<IntentInFlight & { keys: string[] }>(INTENTS);
  const groups = (ids: readonly string[]): string[][] => {
    const list: string[][] = [];
    for (let start = 0; start < ids.length; start += IN_AT_MOST) list.push(ids.slice(start, start + IN_AT_MOST));
    return list;
  };
  return {
    withRelayLease: (work) => withLeases(db, [RELAY_LEASE], work),

    oldest: (limit) => outbox.find({}, { projection: { _id: 1, intent: 1 }, sort: { _id: 1 }, limit }).toArray(),

    async fetch(ids) {
      const found = await Promise.all(groups(ids).map((group) => outbox.find({ _id: { $in: group } }).toArray()));
      // A pushed-down $in comes back in insertion order: put it in `_id` order.
      return found.flat().sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
    },

    // The intents collection holds only the writes in flight (a handful): read all heads.
    inFlight: () => heads.find({}, { projection: { _id: 1, at: 1 } }).toArray(),

    async remove(ids) {
      let deleted = 0;
      for (const group of groups(ids)) deleted += (await outbox.deleteMany({ _id: { $in: group } })).deletedCount;
      return deleted;
    },

    count: () => outbox.countDocuments(),
  };
}
