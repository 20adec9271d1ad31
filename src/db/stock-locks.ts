import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, Db } from 'mongodb';
import type { ShopEvent } from '../domain/events.js';
import { writesOf } from '../domain/projector.js';
import { duplicateKeyIndexes } from './write-errors.js';

const LOCKS = 'locks';
const LEASE_MS = 30_000;
const RENEW_MS = 10_000;
const WAIT_MS = 60_000;

interface Lock {
  _id: string;
  owner: string;
  expiresAt: Date;
}

/** The stock levels these events write (the keys to lease before applying them). */
export function stockKeys(events: readonly ShopEvent[]): string[] {
  return events.flatMap((event) => writesOf(event).filter((ref) => ref.collection === 'stock').map((ref) => ref.id));
}

/**
 * Runs `work` while holding a lease on each stock key: every db-path writer (several processes
 * at once), and on FerretDB the Kafka consumer too.
 *
 * Why: a conditional update is atomic on MongoDB, but FerretDB 1.x evaluates the filter and then
 * updates by _id in two steps, so two writers can both pass a { _rev } check. An insert with a
 * unique _id is atomic on both, so the lease is taken by inserting. All keys are taken at once
 * or none (no hold-and-wait, so no deadlock).
 *
 * A lease lasts 30 s. Work that takes longer (a batch on a large FerretDB catalog) keeps its
 * leases alive with one heartbeat document per owner, renewed every 10 s: one small write
 * whatever the number of keys (on FerretDB every update is a scan of the collection). A lease is
 * taken over once it and its owner's heartbeat have both expired (a crashed writer), or at once
 * by the next process in the same `holder` role.
 */
export async function withStockLocks<T>(db: Db, keys: readonly string[], work: () => Promise<T>, holder?: string): Promise<T> {
  const ids = [...new Set(keys)].sort().map((key) => `stock:${key}`);
  if (ids.length === 0) return work();
  const locks = db.collection<Lock>(LOCKS);
  // A holder that names a role only one process plays at a time (a partition's consumer) takes
  // back at once what a crashed predecessor in that role left, instead of waiting for expiry.
  const owner = holder ?? randomUUID();
  if (holder) await locks.deleteMany({ _id: { $in: ids }, owner });
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt += 1) {
    const expiresAt = new Date(Date.now() + LEASE_MS);
    const taken: string[] = [];
    try {
      await locks.insertMany(ids.map((_id) => ({ _id, owner, expiresAt })), { ordered: false });
      break;
    } catch (error) {
      const failed = new Set(duplicateKeyIndexes(error));
      ids.forEach((id, index) => {
        if (!failed.has(index)) taken.push(id);
      });
    }
    await locks.deleteMany({ _id: { $in: taken }, owner });
    await takeOverExpired(locks, ids);
    if (Date.now() > deadline) throw new Error(`timed out waiting ${WAIT_MS / 1000}s for stock locks held by another writer`);
    await sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) + Math.random() * 20);
  }
  const heartbeat = `owner:${owner}`;
  const renewal = setInterval(() => {
    const renewed = { _id: heartbeat, owner, expiresAt: new Date(Date.now() + LEASE_MS) };
    locks.replaceOne({ _id: heartbeat }, renewed, { upsert: true }).catch(() => undefined);
  }, RENEW_MS);
  renewal.unref();
  try {
    return await work();
  } finally {
    clearInterval(renewal);
    await locks.deleteMany({ _id: { $in: [...ids, heartbeat] }, owner });
  }
}

// Deletes the leases among `ids` whose owner crashed: expired, and no live heartbeat. The delete
// names the expiry it saw, so a lease taken again meanwhile (a later expiry) is left alone.
async function takeOverExpired(locks: Collection<Lock>, ids: readonly string[]): Promise<void> {
  const now = new Date();
  const expired = await locks.find({ _id: { $in: [...ids] }, expiresAt: { $lt: now } }).toArray();
  if (expired.length === 0) return;
  const owners = [...new Set(expired.map((lock) => lock.owner))];
  const alive = await locks.find({ _id: { $in: owners.map((owner) => `owner:${owner}`) }, expiresAt: { $gte: now } }).toArray();
  const living = new Set(alive.map((beat) => beat.owner));
  const dead = expired.filter((lock) => !living.has(lock.owner));
  if (dead.length > 0) await locks.deleteMany({ _id: { $in: dead.map((lock) => lock._id) }, expiresAt: { $lt: now } });
}
