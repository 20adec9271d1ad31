import type { Db, Filter } from 'mongodb';
import type { ReservationDoc, ReservationStatus, StoreDoc } from '../domain/documents.js';
import { collectionOf } from './collections.js';

// The readers behind `reserve` (the store's last heartbeat), `reservations list|show` and the
// expiry sweep (open holds). The projection writes these collections; nothing here writes.

/** A reservation as read: without the projection's bookkeeping (_rev, _intent). */
export type ReservationRow = Omit<ReservationDoc, '_rev' | '_intent'>;

const hidden = { _rev: 0, _intent: 0 } as const;

export interface ReservationFilter {
  store?: string | undefined;
  status?: ReservationStatus | undefined;
  customer?: string | undefined;
}

function filterOf(filter: ReservationFilter): Filter<ReservationDoc> {
  return {
    ...(filter.store === undefined ? {} : { store: filter.store }),
    ...(filter.status === undefined ? {} : { status: filter.status }),
    ...(filter.customer === undefined ? {} : { customerId: filter.customer }),
  };
}

export async function findReservation(db: Db, id: string): Promise<ReservationRow | null> {
  return collectionOf(db, 'reservations').findOne({ _id: id }, { projection: hidden });
}

/** The latest requested first (ties by id), at most `limit`, and how many match in all. */
export async function findReservations(db: Db, filter: ReservationFilter, limit: number): Promise<{ rows: ReservationRow[]; total: number }> {
  const reservations = collectionOf(db, 'reservations');
  const query = filterOf(filter);
  const [rows, total] = await Promise.all([
    reservations.find(query, { projection: hidden }).sort({ requestedAt: -1, _id: 1 }).limit(limit).toArray(),
    reservations.countDocuments(query),
  ]);
  return { rows, total };
}

/**
 * Open holds (confirmed reservations) of every store, with what an expiry event needs. Few by
 * nature (a hold lives minutes): read whole, their expiry compared by the caller, which has the
 * clock. (FerretDB 1.24 filters only `_id` in SQL: a range on `expiresAt` would read them all anyway.)
 */
export async function openHolds(db: Db): Promise<Array<Pick<ReservationDoc, '_id' | 'store' | 'sku' | 'expiresAt'>>> {
  return collectionOf(db, 'reservations')
    .find({ status: 'confirmed' }, { projection: { _id: 1, store: 1, sku: 1, expiresAt: 1 } })
    .toArray();
}

/** The last heartbeat the central view holds of a store; null when it never sent one. */
export async function lastHeartbeatOf(db: Db, store: string): Promise<string | null> {
  const doc = await collectionOf(db, 'stores').findOne({ _id: store }, { projection: { lastHeartbeat: 1 } });
  return (doc as Pick<StoreDoc, 'lastHeartbeat'> | null)?.lastHeartbeat ?? null;
}
