import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, Db } from 'mongodb';
import { logger } from '../log.js';
import { duplicateKeyIndexes } from './write-errors.js';

const log = logger.namespace('leases');

const LOCKS = 'locks';
const LEASE_MS = 10_000;
const RENEW_MS = 2_500;
const WAIT_MS = 60_000;

interface Lock {
  _id: string;
  owner: string;
  expiresAt: Date;
}

// Owners are named after this process, so that a lease left by a process of this host that no
// longer runs (killed) is taken over at once rather than after its expiry.
const HOST = hostname();
const ownerName = (): string => `${HOST}:${process.pid}:${randomUUID()}`;

/**
 * Runs `work` while holding a lease on each key (a document the work writes): every writer of
 * the projection takes them, on both write paths and on every server, so that each document has
 * one writer at a time.
 *
 * Why leases and not only conditional writes: FerretDB 1.x evaluates an update's filter and then
 * writes by _id in two steps, so two writers can both pass a { _rev } check; and a write that
 * loses a race after its batch was journaled would need its decisions taken again. An insert
 * with a unique _id is atomic everywhere, so a lease is taken by inserting. All keys are taken at
 * once or none (no hold-and-wait, so no deadlock).
 *
 * A lease lasts 10 s. Work that takes longer keeps its leases alive with one heartbeat document
 * per owner, renewed every 2.5 s: one small write whatever the number of keys. A lease is taken
 * over once it and its owner's heartbeat have both expired (a crashed writer), at once when its
 * owner was a process of this host that is gone, and at once by the next process in the same
 * `holder` role.
 */
export async function withLeases<T>(db: Db, keys: readonly string[], work: () => Promise<T>, holder?: string): Promise<T> {
  const ids = [...new Set(keys)].sort();
  if (ids.length === 0) return work();
  const locks = db.collection<Lock>(LOCKS);
  // A holder that names a role only one process plays at a time (a partition's consumer) takes
  // back at once what a crashed predecessor in that role left, instead of waiting for expiry.
  const owner = holder ?? ownerName();
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt += 1) {
    const expiresAt = new Date(Date.now() + LEASE_MS);
    const taken: string[] = [];
    const refused: string[] = [];
    try {
      await locks.insertMany(ids.map((_id) => ({ _id, owner, expiresAt })), { ordered: false });
      break;
    } catch (error) {
      const failed = new Set(duplicateKeyIndexes(error, ids.length));
      ids.forEach((id, index) => (failed.has(index) ? refused : taken).push(id));
    }
    await locks.deleteMany({ _id: { $in: taken }, owner });
    // Held in our own role: a predecessor in it crashed (the role is played by one process at a
    // time), so those are ours to take back, at once. Only looked for when an insert was refused,
    // which keeps the common case to one insert and one delete per batch.
    if (holder && attempt === 0 && (await locks.deleteMany({ _id: { $in: refused }, owner })).deletedCount > 0) continue;
    if (attempt === 0) log.debug('waiting for leases held by another writer', { keys: ids.length, first: refused[0] });
    await takeOverExpired(locks, ids);
    if (attempt % 5 === 0) await takeOverGone(locks, ids);
    if (Date.now() > deadline) throw new LeaseTimeoutError(`timed out waiting ${WAIT_MS / 1000}s for leases held by another writer (e.g. ${refused[0] ?? ids[0]})`);
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
  if (dead.length === 0) return;
  log.info('taking over expired leases of a writer that stopped renewing them', { leases: dead.length, owners: [...new Set(dead.map((lock) => lock.owner))] });
  await locks.deleteMany({ _id: { $in: dead.map((lock) => lock._id) }, expiresAt: { $lt: now } });
}

// Deletes the leases among `ids` held by processes of this host that no longer run.
async function takeOverGone(locks: Collection<Lock>, ids: readonly string[]): Promise<void> {
  const held = await locks.find({ _id: { $in: [...ids] } }).toArray();
  const gone = held.filter((lock) => isGoneLocalOwner(lock.owner));
  if (gone.length > 0) log.info('taking over leases of a process of this host that is gone', { leases: gone.length });
  if (gone.length > 0) await locks.deleteMany({ _id: { $in: gone.map((lock) => lock._id) }, owner: { $in: [...new Set(gone.map((lock) => lock.owner))] } });
}

/** Whether an owner name (host:pid:uuid) names a process of this host that is not running. */
export function isGoneLocalOwner(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== HOST || pid === undefined || !/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class LeaseTimeoutError extends Error {
  readonly retriable = true;
  constructor(message: string) {
    super(message);
    this.name = 'LeaseTimeoutError';
  }
}
