import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { duplicateKeyIndexes } from './write-errors.js';

const LOCKS = 'locks';
const LEASE_MS = 30_000;
const WAIT_MS = 60_000;

interface Lock {
  _id: string;
  owner: string;
  expiresAt: Date;
}

/**
 * Runs `work` while holding a lease on each stock key, for writers that are not the single
 * Kafka consumer of the key's partition (the db path, several processes at once).
 *
 * Why: a conditional update is atomic on MongoDB, but FerretDB 1.x evaluates the filter and then
 * updates by _id in two steps, so two writers can both pass a { _rev } check. An insert with a
 * unique _id is atomic on both, so the lease is taken by inserting. All keys are taken at once
 * or none (no hold-and-wait, so no deadlock); a crashed holder's lease expires after 30 s.
 */
export async function withStockLocks<T>(db: Db, keys: readonly string[], work: () => Promise<T>): Promise<T> {
  const unique = [...new Set(keys)].sort();
  if (unique.length === 0) return work();
  const owner = randomUUID();
  const locks = db.collection<Lock>(LOCKS);
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
  try {
    return await work();
  } finally {
    await locks.deleteMany({ _id: { $in: unique.map((key) => `stock:${key}`) }, owner });
  }
}
