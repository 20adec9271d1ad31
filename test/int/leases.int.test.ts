import type { Collection, Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLeases } from '../../src/db/leases.js';
import { connectTestMongo, testConfig, waitFor, type TestMongo } from '../helpers/env.js';

interface Lock {
  _id: string;
  owner: string;
  expiresAt: Date;
}

/**
 * The database as `withLeases` sees it, counting its attempts to take each lease (every
 * `insertMany` on the locks collection): "it waits" is then "it tried again and again and was
 * refused each time", and "at once" is "its first attempt took it", whatever the machine's speed.
 */
function watched(db: Db): { db: Db; attempts: (id: string) => number } {
  const counts = new Map<string, number>();
  const countingInserts = (collection: Collection<Lock>): Collection<Lock> =>
    new Proxy(collection, {
      get(target, property) {
        if (property === 'insertMany') {
          return (docs: Lock[], options?: Parameters<Collection<Lock>['insertMany']>[1]) => {
            for (const doc of docs) counts.set(doc._id, (counts.get(doc._id) ?? 0) + 1);
            return target.insertMany(docs, options);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  const proxy = new Proxy(db, {
    get(target, property) {
      if (property === 'collection') {
        return (name: string) => (name === 'locks' ? countingInserts(target.collection<Lock>(name)) : target.collection(name));
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: proxy, attempts: (id) => counts.get(id) ?? 0 };
}

describe('leases', () => {
  let mongo: TestMongo;
  const locks = () => mongo.db.collection<Lock>('locks');
  /** Resolves once `attempts` reached `n` for `id`: the writer was refused `n` times in a row by then (or took it). */
  const refusedTimes = (attempts: (id: string) => number, id: string, n: number) =>
    waitFor(() => (attempts(id) >= n ? true : undefined), 30_000, `${n} attempts to take ${id}`);

  beforeAll(async () => {
    mongo = await connectTestMongo(testConfig());
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('holds every key while the work runs and frees them after, also when the work fails', async () => {
    const held = await withLeases(mongo.db, ['stock/oslo:A', 'stock/oslo:B', 'stock/oslo:A'], async () => (await locks().find({}).toArray()).map((lock) => lock._id).sort());
    expect(held).toEqual(['stock/oslo:A', 'stock/oslo:B']);
    await expect(withLeases(mongo.db, ['oslo:A'], () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks().countDocuments()).toBe(0);
  });

  it('makes a second writer wait for the first', async () => {
    const order: string[] = [];
    let release!: () => void;
    const first = withLeases(mongo.db, ['stock/rome:X'], async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('first out');
    });
    await waitFor(() => (order.length > 0 ? true : undefined), 30_000, 'the first writer to start');
    const holder = (await locks().findOne({ _id: 'stock/rome:X' }))?.owner;
    expect(holder).toBeDefined();
    const { db, attempts } = watched(mongo.db);
    const second = withLeases(db, ['stock/rome:X', 'stock/rome:Y'], () => Promise.resolve(order.push('second in')));
    // Refused three times: still waiting, the first still holds X, and the second gave back the Y
    // it took on each attempt (all keys or none).
    await refusedTimes(attempts, 'stock/rome:X', 3);
    expect(order).toEqual(['first in']);
    expect(await locks().find({ _id: { $in: ['stock/rome:X', 'stock/rome:Y'] } }).toArray()).toEqual([expect.objectContaining({ _id: 'stock/rome:X', owner: holder })]);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
    expect(await locks().countDocuments()).toBe(0);
  });

  it('lets the next process in the same holder role take back what a crashed one left, at once', async () => {
    const expiresAt = new Date(Date.now() + 30_000);
    await locks().insertMany([
      { _id: 'stock/lyon:C', owner: 'consume:g:shop-0', expiresAt },
      { _id: 'stock/lyon:D', owner: 'someone-else', expiresAt },
    ]);
    const { db, attempts } = watched(mongo.db);
    // While the work runs, the lease on C is a new one (it expires sooner than the one left
    // behind, which had not expired): taken back, not taken over after expiry.
    const seen = await withLeases(db, ['stock/lyon:C'], async () => ({ lease: await locks().findOne({ _id: 'stock/lyon:C' }), at: Date.now() }), 'consume:g:shop-0');
    expect(seen.lease?.owner).toBe('consume:g:shop-0');
    expect(seen.lease!.expiresAt.getTime()).toBeLessThan(expiresAt.getTime());
    expect(seen.at).toBeLessThan(expiresAt.getTime());
    // At once: the first attempt was refused, the role's own leftover deleted, the second took it.
    expect(attempts('stock/lyon:C')).toBe(2);
    expect(await locks().findOne({ _id: 'stock/lyon:C' })).toBeNull();

    // Another role's lease is not taken back: it is waited for (here: until it is given up).
    let ran = false;
    const waiting = withLeases(db, ['stock/lyon:D'], () => {
      ran = true;
      return Promise.resolve('done');
    }, 'consume:g:shop-0');
    await refusedTimes(attempts, 'stock/lyon:D', 3);
    expect(ran).toBe(false);
    expect(await locks().findOne({ _id: 'stock/lyon:D' })).toEqual({ _id: 'stock/lyon:D', owner: 'someone-else', expiresAt });
    await locks().deleteMany({ _id: 'stock/lyon:D' });
    expect(await waiting).toBe('done');
    expect(await locks().countDocuments()).toBe(0);
  });

  it('takes over a lease whose owner stopped renewing it, never one whose owner is alive', async () => {
    const past = new Date(Date.now() - 1_000);
    const future = new Date(Date.now() + 30_000);
    // 'slow' holds an expired lease but renews its heartbeat: its work is still running.
    await locks().insertMany([
      { _id: 'stock/nice:E', owner: 'slow', expiresAt: past },
      { _id: 'owner:slow', owner: 'slow', expiresAt: future },
      { _id: 'stock/nice:F', owner: 'crashed', expiresAt: past },
    ]);
    expect(await withLeases(mongo.db, ['stock/nice:F'], () => Promise.resolve('taken over'))).toBe('taken over');
    const { db, attempts } = watched(mongo.db);
    let ran = false;
    const waiting = withLeases(db, ['stock/nice:E'], () => {
      ran = true;
      return Promise.resolve('after the heartbeat stopped');
    });
    // Every refused attempt looks for expired leases of dead owners: three of them left E alone.
    await refusedTimes(attempts, 'stock/nice:E', 3);
    expect(ran).toBe(false);
    expect(await locks().findOne({ _id: 'stock/nice:E' })).toEqual({ _id: 'stock/nice:E', owner: 'slow', expiresAt: past });
    await locks().replaceOne({ _id: 'owner:slow' }, { owner: 'slow', expiresAt: past });
    expect(await waiting).toBe('after the heartbeat stopped');
    await locks().deleteMany({});
  });

  it('keeps the leases of long work alive with one heartbeat, gone when the work ends', async () => {
    const beat = await withLeases(mongo.db, ['stock/bonn:G', 'stock/bonn:H'], () =>
      waitFor(() => locks().findOne({ _id: 'owner:long-work' }).then((doc) => doc ?? undefined), 15_000, 'the first heartbeat'),
      'long-work',
    );
    expect(beat.expiresAt.getTime()).toBeGreaterThan(Date.now() + 5_000);
    expect(await locks().countDocuments()).toBe(0);
  }, 30_000);
});
