import { describe, expect, it } from 'vitest';
import { capacityRows, lowRows, percentOf, positionRows, rangeRows } from '../../src/domain/analytics.js';
import { availabilityRules, reservationEventId } from '../../src/domain/availability.js';
import { createFaker, generateStore } from '../../src/domain/generators.js';
import type { AnyDoc, CollectionName, DocsByCollection, PositionDoc, ProductDoc, StockDoc, StoreDoc } from '../../src/domain/documents.js';
import { createEvent, stockKey, storeDefinedData, validateEvent, type ShopEvent } from '../../src/domain/events.js';
import { docKey, entriesOf, projectBatch, refsOf, Snapshot, type Outcome } from '../../src/domain/projector.js';
import { routeOf } from '../../src/domain/routing.js';

// Given/when/then for what the projection keeps for analytics: the running maximum of each stock
// level, each SKU's global position (sums over stores and the running maximum of the summed
// on-hand), and each store's capacity and location. Every case also says what the same events
// do a second time: nothing.

const T0 = Date.parse('2026-04-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
let n = 0;
const ctx = (seconds = 1, id?: string) => ({ id: id ?? `an-${++n}`, time: at(seconds), source: 'test' });

const received = (quantity: number, store = 'berlin', sku = 'SKU-1') => createEvent('shop.stock.received.v1', { store, sku, quantity }, ctx());
const sold = (quantity: number, store = 'berlin', sku = 'SKU-1') => createEvent('shop.stock.sold.v1', { store, sku, quantity }, ctx());
const counted = (level: number, store = 'berlin', sku = 'SKU-1') => createEvent('shop.stock.counted.v1', { store, sku, level }, ctx());
const bought = (quantity: number, store = 'berlin', sku = 'SKU-1') =>
  createEvent('shop.purchase.made.v1', { customerId: 'c1', sku, store, quantity, unitPrice: { amount: 100, currency: 'EUR' } }, ctx());
const requested = (id: string, quantity: number, store = 'berlin', sku = 'SKU-1') =>
  createEvent('shop.reservation.requested.v1', { reservationId: id, customerId: 'c1', store, sku, quantity, expiresAt: at(900) }, ctx(1, reservationEventId('requested', id)));
const cancelled = (id: string, store = 'berlin', sku = 'SKU-1') =>
  createEvent('shop.reservation.cancelled.v1', { reservationId: id, store, sku }, ctx(2, reservationEventId('cancelled', id)));
const fulfilled = (id: string, store = 'berlin', sku = 'SKU-1') =>
  createEvent('shop.reservation.fulfilled.v1', { reservationId: id, store, sku }, ctx(2, reservationEventId('fulfilled', id)));
const defined = (store: string, fields: { capacity?: number; lat?: number; lon?: number; city?: string }, seconds = 1) =>
  createEvent('shop.store.defined.v1', { store, ...fields }, ctx(seconds));
const heartbeat = (store: string, seconds: number) => createEvent('shop.store.heartbeat.v1', { store }, ctx(seconds));

const product = (sku: string): ProductDoc => ({ _id: sku, _rev: 1, name: 'Widget', category: 'Tools', price: { amount: 100, currency: 'EUR' }, addedAt: at(-3600) });
const customer = { _id: 'c1', _rev: 1, firstName: 'Ada', lastName: 'L', email: 'a@example.com', address: { street: 's', city: 'c', postalCode: 'p', country: 'x' }, locale: 'en', registeredAt: at(-3600) };

/** Stored documents and a journal, as the projection service keeps them (see reservations.unit.test.ts). */
class World {
  readonly docs = new Map<string, AnyDoc>();
  readonly journal = new Map<string, string | null>();

  constructor() {
    this.given('products', product('SKU-1'), product('SKU-2'));
    this.given('customers', customer);
  }

  given<C extends CollectionName>(collection: C, ...docs: Array<DocsByCollection[C]>): this {
    for (const doc of docs) this.docs.set(docKey({ collection, id: doc._id }), structuredClone(doc));
    return this;
  }

  when(...events: ShopEvent[]): { outcomes: Outcome[]; written: string[] } {
    const inputs = events.map((event) => ({ event }));
    const snapshot = new Snapshot();
    for (const { event } of inputs) {
      for (const ref of refsOf(event)) if (!snapshot.has(ref.collection, ref.id)) snapshot.load(ref.collection, ref.id, structuredClone(this.docs.get(docKey(ref)) ?? null));
    }
    const applied = new Map<string, string | null>();
    for (const { event } of inputs) if (this.journal.has(event.id)) applied.set(event.id, this.journal.get(event.id) ?? null);
    const outcomes = projectBatch(inputs, snapshot, applied);
    const written: string[] = [];
    for (const change of snapshot.changes()) {
      const key = docKey({ collection: change.collection, id: change.doc._id });
      expect(this.docs.get(key)?._rev ?? 0, `${key}: the revision the change replaces`).toBe(change.expectedRev);
      this.docs.set(key, structuredClone(change.doc));
      written.push(key);
    }
    for (const entry of entriesOf(inputs, outcomes, at(10), 'intent')) this.journal.set(entry.doc._id, entry.doc.h ?? null);
    return { outcomes, written };
  }

  /** Each event in a batch of its own. */
  whenEach(...events: ShopEvent[]): Outcome[] {
    return events.flatMap((event) => this.when(event).outcomes);
  }

  stock(store = 'berlin', sku = 'SKU-1'): StockDoc | undefined {
    return this.docs.get(docKey({ collection: 'stock', id: stockKey(store, sku) })) as StockDoc | undefined;
  }
  position(sku = 'SKU-1'): PositionDoc | undefined {
    return this.docs.get(docKey({ collection: 'positions', id: sku })) as PositionDoc | undefined;
  }
  store(id: string): StoreDoc | undefined {
    return this.docs.get(docKey({ collection: 'stores', id })) as StoreDoc | undefined;
  }
  snapshot(): Array<[string, AnyDoc]> {
    return [...this.docs.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  }
}

const statuses = (outcomes: Outcome[]) => outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.status));

describe('running maximum of a stock level (maxLevel)', () => {
  it('given receipts, sales and counts, the highest level ever is kept while the level moves', () => {
    const world = new World();
    world.whenEach(received(1000), sold(990));
    expect(world.stock()).toMatchObject({ level: 10, maxLevel: 1000 });
    world.when(counted(1200), counted(3));
    expect(world.stock()).toMatchObject({ level: 3, maxLevel: 1200 });
    world.when(bought(3));
    expect(world.stock()).toMatchObject({ level: 0, maxLevel: 1200 });
  });

  it('a peak inside one batch counts: the fold evolves event by event before its one write', () => {
    const world = new World();
    const { written } = world.when(received(50), received(50), sold(90));
    expect(world.stock()).toMatchObject({ level: 10, maxLevel: 100 });
    expect(written.filter((key) => key.startsWith('stock/'))).toHaveLength(1);
  });

  it('the same events again (a redelivery, in one batch or another) change nothing', () => {
    const world = new World();
    const events = [received(100), sold(60), received(5)];
    world.when(...events);
    const before = world.snapshot();
    expect(statuses(world.when(...events).outcomes)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(statuses(world.whenEach(...events))).toEqual(['duplicate', 'duplicate', 'duplicate']);
    // A receipt delivered twice must not raise the maximum (100 + 100 would be a level never held).
    expect(statuses(world.when(events[0]!, events[0]!).outcomes)).toEqual(['duplicate', 'duplicate']);
    expect(world.snapshot()).toEqual(before);
    expect(world.stock()).toMatchObject({ level: 45, maxLevel: 100 });
  });

  it('a document written before maxLevel was kept: its maximum is at least its level', () => {
    const world = new World().given('stock', { _id: stockKey('berlin', 'SKU-1'), _rev: 4, store: 'berlin', sku: 'SKU-1', level: 30, updatedAt: at(-60) });
    world.when(sold(20));
    expect(world.stock()).toMatchObject({ level: 10, maxLevel: 30 });
  });

  it('a refused sale leaves the maximum alone', () => {
    const world = new World();
    world.when(received(5));
    expect(statuses(world.when(sold(6)).outcomes)).toEqual(['insufficient_stock']);
    expect(world.stock()).toMatchObject({ level: 5, maxLevel: 5, _rev: 1 });
  });
});

describe('global position of a SKU (positions)', () => {
  it('given stock at two stores, on hand and pending are summed over them, with each store\'s part', () => {
    const world = new World();
    world.when(received(100, 'berlin'), received(40, 'paris'), received(7, 'paris', 'SKU-2'));
    world.when(requested('r1', 30, 'berlin'));
    expect(world.position()).toMatchObject({
      _id: 'SKU-1',
      sku: 'SKU-1',
      onHand: 140,
      pending: 30,
      maxOnHand: 140,
      parts: [
        { store: 'berlin', level: 100, pending: 30 },
        { store: 'paris', level: 40, pending: 0 },
      ],
    });
    expect(world.position('SKU-2')).toMatchObject({ onHand: 7, maxOnHand: 7 });
  });

  it('the running maximum of the summed on-hand: an item with 10 of its 1000 left is at 1 %', () => {
    const world = new World();
    world.when(received(600, 'berlin'), received(400, 'paris'));
    world.when(sold(595, 'berlin'), bought(395, 'paris'));
    const position = world.position()!;
    expect(position).toMatchObject({ onHand: 10, maxOnHand: 1000 });
    expect((position.onHand / position.maxOnHand) * 100).toBe(1);
  });

  it('follows every change of a level or a hold: purchases, counts, reservations held, fulfilled and cancelled', () => {
    const world = new World();
    world.whenEach(received(20), counted(15), requested('r1', 5), requested('r2', 3), fulfilled('r1'), cancelled('r2'), bought(2));
    expect(world.stock()).toMatchObject({ level: 8, pending: 0 });
    expect(world.position()).toMatchObject({ onHand: 8, pending: 0, maxOnHand: 20, parts: [{ store: 'berlin', level: 8, pending: 0 }] });
  });

  it('the same events again, in one batch or another, change nothing; a replay of all of them neither', () => {
    const world = new World();
    const events = [received(100, 'berlin'), received(50, 'paris'), sold(30, 'paris'), requested('r1', 10, 'paris'), bought(1, 'berlin')];
    world.when(...events.slice(0, 3));
    world.when(...events.slice(3));
    const before = world.snapshot();
    const position = world.position();
    expect(statuses(world.when(...events).outcomes)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(statuses(world.whenEach(...events))).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(world.snapshot()).toEqual(before);
    expect(position).toMatchObject({ onHand: 119, pending: 10, maxOnHand: 150 });
  });

  it('an event that changes no level or hold writes no position (a rejected reservation, a refused sale)', () => {
    const world = new World();
    world.when(received(5));
    const rev = world.position()!._rev;
    expect(world.when(requested('r9', 50)).written).toEqual(['reservations/r9']);
    expect(world.when(sold(6)).written).toEqual([]);
    expect(world.position()!._rev).toBe(rev);
  });

  it('a stock document from before positions were kept joins with its whole level once it changes', () => {
    const world = new World().given('stock', { _id: stockKey('paris', 'SKU-1'), _rev: 3, store: 'paris', sku: 'SKU-1', level: 70, updatedAt: at(-60) });
    world.when(received(10, 'berlin'));
    expect(world.position()).toMatchObject({ onHand: 10, parts: [{ store: 'berlin', level: 10, pending: 0 }] });
    world.when(sold(5, 'paris'));
    expect(world.position()).toMatchObject({ onHand: 75, maxOnHand: 75, parts: [{ store: 'berlin', level: 10 }, { store: 'paris', level: 65 }] });
  });

  it('a SKU position is written once per batch, whatever the number of its events and stores', () => {
    const world = new World();
    const { written } = world.when(received(5, 'a'), received(5, 'b'), received(5, 'c'), sold(1, 'a'), received(1, 'a', 'SKU-2'));
    expect(written.filter((key) => key.startsWith('positions/')).sort()).toEqual(['positions/SKU-1', 'positions/SKU-2']);
    expect(world.position()).toMatchObject({ onHand: 14, maxOnHand: 15, _rev: 4 });
  });
});

describe('store capacity and location (shop.store.defined.v1)', () => {
  it('a definition sets capacity and location; a later one changes only what it names', () => {
    const world = new World();
    world.when(defined('berlin', { capacity: 5000, lat: 52.52, lon: 13.405, city: 'Berlin' }));
    expect(world.store('berlin')).toMatchObject({ capacity: 5000, lat: 52.52, lon: 13.405, city: 'Berlin', definedAt: at(1) });
    world.when(defined('berlin', { capacity: 8000 }, 5));
    expect(world.store('berlin')).toMatchObject({ capacity: 8000, lat: 52.52, lon: 13.405, city: 'Berlin', definedAt: at(5) });
  });

  it('a heartbeat after a definition keeps the capacity and location (it used to replace the whole store document)', () => {
    const world = new World();
    world.when(defined('berlin', { capacity: 5000, city: 'Berlin' }));
    world.when(heartbeat('berlin', 3));
    expect(world.store('berlin')).toMatchObject({ capacity: 5000, city: 'Berlin', lastHeartbeat: at(3) });
    world.when(defined('berlin', { lat: 1, lon: 2 }, 4));
    expect(world.store('berlin')).toMatchObject({ capacity: 5000, city: 'Berlin', lat: 1, lon: 2, lastHeartbeat: at(3) });
  });

  it('the same definition twice is a duplicate: journaled once, the store written once', () => {
    const world = new World();
    const event = defined('rome', { capacity: 10 });
    expect(statuses(world.when(event, event).outcomes)).toEqual(['applied', 'duplicate']);
    const before = world.snapshot();
    expect(statuses(world.when(event).outcomes)).toEqual(['duplicate']);
    expect(world.snapshot()).toEqual(before);
    expect(world.store('rome')).toMatchObject({ _rev: 1, capacity: 10 });
  });

  it('goes on the inventory topic keyed by the store, like its heartbeats', () => {
    expect(routeOf(defined('rome', { capacity: 10 }))).toEqual({ stream: 'inventory', key: 'rome' });
    expect(defined('rome', { capacity: 10 }).subject).toBe('store/rome');
  });

  it('its schema refuses what cannot be meant: nothing named, a latitude beyond 90, capacity 0, a store id with ":"', () => {
    const envelope = (data: unknown) => ({ specversion: '1.0', id: 'x', type: 'shop.store.defined.v1', source: 't', time: at(0), subject: 'store/a', data });
    expect(validateEvent(envelope({ store: 'a', capacity: 1 })).ok).toBe(true);
    for (const data of [{ store: 'a' }, { store: 'a', lat: 91 }, { store: 'a', lon: -181 }, { store: 'a', capacity: 0 }, { store: 'a', capacity: 1.5 }, { store: 'a:b', capacity: 1 }, { store: 'a', city: ' x' }, { store: 'a', capacity: 1, extra: 1 }]) {
      expect(validateEvent(envelope(data)).ok, JSON.stringify(data)).toBe(false);
    }
  });
});

describe('reading the aggregates (domain/analytics)', () => {
  const rules = availabilityRules({ safetyMargin: { units: 1 }, staleAfterMs: 30_000 });
  const now = new Date(T0 + 60_000);
  const position = (sku: string, parts: Array<[string, number, number]>, maxOnHand: number): PositionDoc => ({
    _id: sku,
    _rev: 1,
    sku,
    onHand: parts.reduce((sum, [, level]) => sum + level, 0),
    pending: parts.reduce((sum, [, , pending]) => sum + pending, 0),
    maxOnHand,
    parts: parts.map(([store, level, pending]) => ({ store, level, pending })),
    updatedAt: at(0),
  });

  it('position: sums, available with each store\'s margin, range against the maximum, stale stores; most on hand first', () => {
    const rows = positionRows(
      [position('SKU-1', [['berlin', 10, 2], ['paris', 0, 0]], 1000), position('SKU-2', [['berlin', 50, 0]], 40)],
      [{ _id: 'paris', lastHeartbeat: at(0) }, { _id: 'berlin', lastHeartbeat: at(59) }],
      new Map([['SKU-1', 'Widget']]),
      rules,
      now,
    );
    expect(rows).toEqual([
      // A maximum below the level (kept before this was): the level is the maximum.
      { sku: 'SKU-2', name: null, onHand: 50, pending: 0, available: 49, maxOnHand: 50, rangePercent: 100, stores: 1, staleStores: 0 },
      { sku: 'SKU-1', name: 'Widget', onHand: 10, pending: 2, available: 7, maxOnHand: 1000, rangePercent: 1, stores: 2, staleStores: 1 },
    ]);
    expect(lowRows(rows, 10).map((row) => row.sku)).toEqual(['SKU-1']);
    expect(lowRows(rows).map((row) => row.sku)).toEqual(['SKU-1', 'SKU-2']);
  });

  it('capacity: used against capacity, share of the chain, null where unknown; stores without stock listed at 0', () => {
    const rows = capacityRows(
      [{ store: 'berlin', level: 300 }, { store: 'berlin', level: 100 }, { store: 'online', level: 600 }],
      [{ _id: 'berlin', capacity: 1000, lat: 52.5, lon: 13.4, city: 'Berlin' }, { _id: 'rome', capacity: 10, city: 'Rome' }],
      rules,
      now,
    );
    expect(rows).toEqual([
      { store: 'berlin', city: 'Berlin', lat: 52.5, lon: 13.4, capacity: 1000, onHand: 400, usedPercent: 40, sharePercent: 40, freshness: 'unknown' },
      { store: 'rome', city: 'Rome', lat: null, lon: null, capacity: 10, onHand: 0, usedPercent: 0, sharePercent: 0, freshness: 'unknown' },
      { store: 'online', city: null, lat: null, lon: null, capacity: null, onHand: 600, usedPercent: null, sharePercent: 60, freshness: 'unknown' },
    ]);
    expect(capacityRows([], [], rules, now)).toEqual([]);
  });

  it('range: global and per store, lowest first, never-stocked last; --store keeps that store only', () => {
    const positions = [position('SKU-1', [['berlin', 10, 0]], 1000)];
    const levels = [
      { store: 'berlin', sku: 'SKU-1', level: 10, maxLevel: 20 },
      { store: 'paris', sku: 'SKU-1', level: 0, maxLevel: 0 },
    ];
    expect(rangeRows(positions, levels)).toEqual([
      { sku: 'SKU-1', store: null, level: 10, maxLevel: 1000, percent: 1 },
      { sku: 'SKU-1', store: 'berlin', level: 10, maxLevel: 20, percent: 50 },
      { sku: 'SKU-1', store: 'paris', level: 0, maxLevel: 0, percent: null },
    ]);
    expect(rangeRows(positions, levels, 'paris')).toEqual([{ sku: 'SKU-1', store: 'paris', level: 0, maxLevel: 0, percent: null }]);
    expect(percentOf(1, 3)).toBe(33.3);
  });
});

describe('make stores (generateStore)', () => {
  it('the same seed makes the same stores: ids and values; every one valid for its event schema', () => {
    const make = (seed: number) => {
      const faker = createFaker(seed);
      const taken = new Set<string>();
      return Array.from({ length: 20 }, () => generateStore(faker, taken));
    };
    expect(make(7)).toEqual(make(7));
    expect(make(7)).not.toEqual(make(8));
    const stores = make(7);
    expect(new Set(stores.map((s) => s.store)).size).toBe(20);
    for (const data of stores) expect(storeDefinedData.safeParse(data).success, JSON.stringify(data)).toBe(true);
  });
});
