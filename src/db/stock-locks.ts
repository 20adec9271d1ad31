import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
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
 * or none (no hold-and-wait, so no deadlock). The lease is renewed while `work` runs (a batch on a
 * large FerretDB catalog can take longer than the lease); a crashed holder's expires after 30 s,
 * or is taken back at once by the next process in the same `holder` role.
 */
export async function withStockLocks<T>(db: Db, keys: readonly string[], work: () => Promise<T>, holder?: string): Promise<T> {
  const unique = [...new Set(keys)].sort();
  if (unique.length === 0) return work();
  const locks = db.collection<Lock>(LOCKS);
  // A holder that names a role only one process plays at a time (a partition's consumer) takes
  // back at once what a crashed predecessor in that role left, instead of waiting for expiry.
  const owner = holder ?? randomUUID();
  if (holder) await locks.deleteMany({ _id: { $in: unique.map((key) => `stock:${key}`) }, owner });
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt += 1) {
    const expiresAt = new Date(Date.now() + LEASE_MS);
    const taken: string[] = [];
    try {
      await locks.insertMany(unique.map((key) => ({ _id: `stock:${key}`, owner, expiresAt })), { ordered: false });
      break;
    } catch (error) {
      const failed = new Set(duplicateKeyIndexes(error));
      unique.forEach((key, index) => {
        if (!failed.has(index)) taken.push(`stock:${key}`);
      });
    }
    await locks.deleteMany({ _id: { $in: taken }, owner });
    // Leases left by a crashed writer are taken over once expired.
    await locks.deleteMany({ _id: { $in: unique.map((key) => `stock:${key}`) }, expiresAt: { $lt: new Date() } });
    if (Date.now() > deadline) throw new Error(`timed out waiting ${WAIT_MS / 1000}s for stock locks held by another writer`);
    await sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) + Math.random() * 20);
  }
  const ids = unique.map((key) => `stock:${key}`);
  const renewal = setInterval(() => {
    locks.updateMany({ _id: { $in: ids }, owner }, { $set: { expiresAt: new Date(Date.now() + LEASE_MS) } }).catch(() => undefined);
  }, RENEW_MS);
  renewal.unref();
  try {
    return await work();
  } finally {
    clearInterval(renewal);
    await locks.deleteMany({ _id: { $in: ids }, owner });
  }
}
