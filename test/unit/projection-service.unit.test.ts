import { describe, expect, it } from 'vitest';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { createProjection } from '../../src/services/projection.js';
import { Crash, MemoryStore } from '../helpers/memory-store.js';

// Given/when/then for the projection service over a store in memory: the same outcomes and the
// same documents whatever the point a writer crashed at, and no second effect from anything.

let n = 0;
const ctx = () => ({ id: `evt-${String(++n).padStart(4, '0')}`, time: '2026-01-01T00:00:00.000Z', source: 'test' });
const registered = (customerId: string) =>
  createEvent(
    'shop.customer.registered.v1',
    { customerId, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: { street: '1 Main St', city: 'London', postalCode: 'N1', country: 'UK' }, locale: 'en' },
    ctx(),
  );
const added = (sku: string) => createEvent('shop.product.added.v1', { sku, name: 'Widget', category: 'Tools', price: { amount: 250, currency: 'EUR' } }, ctx());
const received = (sku: string, quantity: number, store = 'online') => createEvent('shop.stock.received.v1', { store, sku, quantity }, ctx());
const bought = (customerId: string, sku: string, quantity: number, store = 'online') =>
  createEvent('shop.purchase.made.v1', { customerId, sku, store, quantity, unitPrice: { amount: 250, currency: 'EUR' } }, ctx());

function batches(): ShopEvent[][] {
  return [
    [registered('c1'), registered('c2'), added('A'), added('B')],
    [received('A', 5), received('B', 3, 'rome'), bought('c1', 'A', 2), bought('c2', 'A', 2), bought('c1', 'A', 2)], // the last is refused
    [bought('c2', 'B', 1, 'rome'), received('A', 10), bought('c1', 'A', 4), bought('ghost', 'A', 1)],
  ];
}

let intents = 0;
const projectionOver = (store: MemoryStore) => createProjection(store, { now: () => new Date('2026-01-02T00:00:00Z'), newId: () => `intent-${++intents}` });

/** What a user sees: the documents and journal, without the write bookkeeping. */
function state(store: MemoryStore) {
  const strip = <T extends object>(doc: T) => Object.fromEntries(Object.entries(doc).filter(([key]) => !['_intent', '_at', 'intent', 'applied'].includes(key)));
  const sorted = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, doc]) => strip(doc as object));
  return { docs: sorted(store.docs), journal: sorted(store.journal), purchases: sorted(store.purchases), intents: store.intents.size };
}

async function applyAll(store: MemoryStore, all: ShopEvent[][]) {
  const statuses: string[][] = [];
  for (const events of all) {
    const { outcomes } = await projectionOver(store).apply(events.map((event) => ({ event })));
    statuses.push(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.status)));
  }
  return statuses;
}

describe('projection service', () => {
  const all = batches();

  it('applies a batch, refuses what breaks a rule, and leaves no intent behind', async () => {
    const store = new MemoryStore();
    const statuses = await applyAll(store, all);
    expect(statuses).toEqual([
      ['applied', 'applied', 'applied', 'applied'],
      ['applied', 'applied', 'applied', 'applied', 'insufficient_stock'],
      ['applied', 'applied', 'applied', 'unknown_reference'],
    ]);
    expect(store.intents.size).toBe(0);
    expect(store.docs.get('stock/online:A')).toMatchObject({ level: 7, sold: { quantity: 8, revenue: { amount: 2000, currency: 'EUR' } } });
    expect(store.docs.get('stock/rome:B')).toMatchObject({ level: 2, sold: { quantity: 1 } });
    // The analytics kept in the same writes (so covered by the crash test below): 5, 3, 1, 11, 7.
    expect(store.docs.get('stock/online:A')).toMatchObject({ maxLevel: 11 });
    expect(store.docs.get('positions/A')).toMatchObject({ onHand: 7, pending: 0, maxOnHand: 11, parts: [{ store: 'online', level: 7, pending: 0 }] });
    expect(store.docs.get('positions/B')).toMatchObject({ onHand: 2, maxOnHand: 3 });
  });

  it('the same events twice: the second time every applied one is a duplicate and nothing changes', async () => {
    const store = new MemoryStore();
    await applyAll(store, all);
    const before = state(store);
    const again = await applyAll(store, all);
    // Refused events are decided again (they were not applied): refused again for the same reason.
    expect(again).toEqual([
      ['duplicate', 'duplicate', 'duplicate', 'duplicate'],
      ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'applied'],
      ['duplicate', 'duplicate', 'duplicate', 'unknown_reference'],
    ]);
    // ...except that stock has come meanwhile: the once-refused purchase of 2 now fits (7 left).
    expect(store.docs.get('stock/online:A')).toMatchObject({ level: 5 });
    expect(state(store).journal).toEqual(before.journal);
  });

  it('a duplicate that arrives when stock is short is a duplicate, not a refusal', async () => {
    const store = new MemoryStore();
    const purchase = bought('c1', 'A', 5);
    await applyAll(store, [[registered('c1'), added('A'), received('A', 5)], [purchase]]);
    expect(store.docs.get('stock/online:A')).toMatchObject({ level: 0 });
    expect(await applyAll(store, [[purchase]])).toEqual([['duplicate']]);
  });

  it('whatever write a crash stops at, running the same batches again ends in the state of an uninterrupted run', async () => {
    const reference = new MemoryStore();
    await applyAll(reference, all);
    const expected = state(reference);
    const total = reference.steps;
    expect(total).toBeGreaterThan(20);
    const crashes: number[] = [];
    for (let step = 1; step <= total; step += 1) {
      const store = new MemoryStore();
      store.crashAt(step);
      let crashedIn = -1;
      for (let index = 0; index < all.length && crashedIn < 0; index += 1) {
        try {
          await projectionOver(store).apply(all[index]!.map((event) => ({ event })));
        } catch (error) {
          if (!(error instanceof Crash)) throw error;
          crashedIn = index;
        }
      }
      expect(crashedIn, `step ${step}`).toBeGreaterThanOrEqual(0);
      crashes.push(crashedIn);
      // The restarted writer gets the unacknowledged batches again (Kafka redelivers from the
      // last commit; a re-run of a seeded command makes the same events).
      await applyAll(store, all.slice(crashedIn));
      expect(state(store), `crash at step ${step}`).toEqual(expected);
    }
    expect(new Set(crashes)).toEqual(new Set([0, 1, 2]));
  });

  it('an intent left by a crashed writer is completed by the next writer of its documents, even with other events', async () => {
    const store = new MemoryStore();
    await applyAll(store, all.slice(0, 1));
    // Crash after the intent and its journal entries, before any document was written.
    const second = all[1]!;
    store.crashAt(1 + 4 + 1);
    await expect(projectionOver(store).apply(second.map((event) => ({ event })))).rejects.toBeInstanceOf(Crash);
    expect(store.intents.size).toBe(1);
    // Another writer sells at the same store and SKU: it first completes the crashed intent.
    const later = createEvent('shop.stock.sold.v1', { store: 'online', sku: 'A', quantity: 1 }, ctx());
    const { outcomes, recovered } = await projectionOver(store).apply([{ event: later }]);
    // 5 received, 2 and 2 bought in the crashed batch (completed first), then this sale of 1.
    expect(outcomes).toEqual([{ status: 'applied', stock: { store: 'online', sku: 'A', change: -1, level: 0 } }]);
    expect(recovered).toBe(1);
    expect(store.intents.size).toBe(0);
    // The crashed batch, when it comes again, is all duplicates and the refusal stays a refusal.
    expect(await applyAll(store, [second])).toEqual([['duplicate', 'duplicate', 'duplicate', 'duplicate', 'insufficient_stock']]);
  });
});
