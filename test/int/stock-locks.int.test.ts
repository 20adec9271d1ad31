import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withStockLocks } from '../../src/db/stock-locks.js';
import { connectTestMongo, testConfig, waitFor, type TestMongo } from '../helpers/env.js';

describe('stock leases', () => {
  let mongo: TestMongo;
  const locks = () => mongo.db.collection<{ _id: string; owner: string; expiresAt: Date }>('locks');

  beforeAll(async () => {
    mongo = await connectTestMongo(testConfig());
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('holds every key while the work runs and frees them after, also when the work fails', async () => {
    const held = await withStockLocks(mongo.db, ['oslo:A', 'oslo:B', 'oslo:A'], async () => (await locks().find({}).toArray()).map((lock) => lock._id).sort());
    expect(held).toEqual(['stock:oslo:A', 'stock:oslo:B']);
    await expect(withStockLocks(mongo.db, ['oslo:A'], () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks().countDocuments()).toBe(0);
  });

  it('makes a second writer wait for the first', async () => {
    const order: string[] = [];
    let release!: () => void;
    const first = withStockLocks(mongo.db, ['rome:X'], async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('first out');
    });
    while (order.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = withStockLocks(mongo.db, ['rome:X', 'rome:Y'], () => Promise.resolve(order.push('second in')));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(order).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('lets the next process in the same holder role take back what a crashed one left, at once', async () => {
    const expiresAt = new Date(Date.now() + 30_000);
    await locks().insertMany([
      { _id: 'stock:lyon:C', owner: 'consume:g:shop-0', expiresAt },
      { _id: 'stock:lyon:D', owner: 'someone-else', expiresAt },
    ]);
    const started = Date.now();
    await withStockLocks(mongo.db, ['lyon:C'], () => Promise.resolve(), 'consume:g:shop-0');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Another role's lease is not taken back: it is waited for (here: until it is given up).
    const waiting = withStockLocks(mongo.db, ['lyon:D'], () => Promise.resolve('done'), 'consume:g:shop-0');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await locks().countDocuments({ _id: 'stock:lyon:D' } as object)).toBe(1);
    await locks().deleteMany({ _id: 'stock:lyon:D' } as object);
    expect(await waiting).toBe('done');
    expect(await locks().countDocuments()).toBe(0);
  });

  it('takes over a lease whose owner stopped renewing it, never one whose owner is alive', async () => {
    const past = new Date(Date.now() - 1_000);
    const future = new Date(Date.now() + 30_000);
    // 'slow' holds an expired lease but renews its heartbeat: its work is still running.
    await locks().insertMany([
      { _id: 'stock:nice:E', owner: 'slow', expiresAt: past },
      { _id: 'owner:slow', owner: 'slow', expiresAt: future },
      { _id: 'stock:nice:F', owner: 'crashed', expiresAt: past },
    ]);
    expect(await withStockLocks(mongo.db, ['nice:F'], () => Promise.resolve('taken over'))).toBe('taken over');
    const waiting = withStockLocks(mongo.db, ['nice:E'], () => Promise.resolve('after the heartbeat stopped'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await locks().countDocuments({ _id: 'stock:nice:E' } as object)).toBe(1);
    await locks().replaceOne({ _id: 'owner:slow' }, { owner: 'slow', expiresAt: past });
    expect(await waiting).toBe('after the heartbeat stopped');
    await locks().deleteMany({});
  });

  it('keeps the leases of long work alive with one heartbeat, gone when the work ends', async () => {
    const beat = await withStockLocks(mongo.db, ['bonn:G', 'bonn:H'], () =>
      waitFor(() => locks().findOne({ _id: 'owner:long-work' }).then((doc) => doc ?? undefined), 15_000, 'the first heartbeat'),
      'long-work',
    );
    expect(beat.expiresAt.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(await locks().countDocuments()).toBe(0);
  }, 30_000);
});
