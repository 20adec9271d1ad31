import { describe, expect, it } from 'vitest';
import { availabilityRules, DEFAULT_RULES, marginUnits, reservationEventId, type AvailabilityRules, type Margin } from '../../src/domain/availability.js';
import type { AnyDoc, CollectionName, DocsByCollection, ProductDoc, ReservationDoc, StockDoc, StoreDoc } from '../../src/domain/documents.js';
import { createEvent, stockKey, type ShopEvent } from '../../src/domain/events.js';
import { decisionOf, docKey, entriesOf, projectBatch, refsOf, Snapshot, type Entry, type Outcome } from '../../src/domain/projector.js';

// Given/when/then for reservations in the pure projector: a world of stored documents and a
// journal (as the projection service keeps them), batches projected into it, and what the
// documents, outcomes and journal entries say after.

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
/** The time `seconds` after T0. */
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const TTL = 15 * 60; // seconds

let n = 0;
const ctx = (time: string, id?: string) => ({ id: id ?? `evt-${++n}`, time, source: 'test' });

interface Where {
  store?: string;
  sku?: string;
}
const requested = (
  reservationId: string,
  quantity: number,
  options: Where & { time?: number; ttl?: number; allowStale?: boolean; id?: string; customerId?: string } = {},
) => {
  const time = options.time ?? 0;
  return createEvent(
    'shop.reservation.requested.v1',
    {
      reservationId,
      customerId: options.customerId ?? 'c1',
      store: options.store ?? 'berlin',
      sku: options.sku ?? 'SKU-1',
      quantity,
      expiresAt: at(time + (options.ttl ?? TTL)),
      ...(options.allowStale === undefined ? {} : { allowStale: options.allowStale }),
    },
    ctx(at(time), options.id ?? reservationEventId('requested', reservationId)),
  );
};
type StepKind = 'fulfilled' | 'cancelled' | 'expired';
const step = (kind: StepKind, reservationId: string, options: Where & { time?: number; id?: string } = {}) =>
  createEvent(
    `shop.reservation.${kind}.v1`,
    { reservationId, store: options.store ?? 'berlin', sku: options.sku ?? 'SKU-1' },
    ctx(at(options.time ?? 1), options.id ?? reservationEventId(kind, reservationId)),
  );
const fulfilled = (reservationId: string, options: Where & { time?: number; id?: string } = {}) => step('fulfilled', reservationId, options);
const cancelled = (reservationId: string, options: Where & { time?: number; id?: string } = {}) => step('cancelled', reservationId, options);
const expired = (reservationId: string, options: Where & { time?: number; id?: string } = {}) => step('expired', reservationId, options);
const heartbeat = (store: string, time: number) => createEvent('shop.store.heartbeat.v1', { store }, ctx(at(time)));
const sold = (quantity: number, options: Where & { time?: number } = {}) =>
  createEvent('shop.stock.sold.v1', { store: options.store ?? 'berlin', sku: options.sku ?? 'SKU-1', quantity }, ctx(at(options.time ?? 1)));
const received = (quantity: number, options: Where & { time?: number } = {}) =>
  createEvent('shop.stock.received.v1', { store: options.store ?? 'berlin', sku: options.sku ?? 'SKU-1', quantity }, ctx(at(options.time ?? 1)));

const product = (sku: string): ProductDoc => ({ _id: sku, _rev: 1, name: 'Widget', category: 'Tools', price: { amount: 250, currency: 'EUR' }, addedAt: at(-3600) });
const stocked = (level: number, options: Where & { pending?: number } = {}): StockDoc => {
  const store = options.store ?? 'berlin';
  const sku = options.sku ?? 'SKU-1';
  return { _id: stockKey(store, sku), _rev: 1, store, sku, level, updatedAt: at(-60), ...(options.pending === undefined ? {} : { pending: options.pending }) };
};
const heard = (store: string, time: number): StoreDoc => ({ _id: store, _rev: 1, lastHeartbeat: at(time) });

/** What a batch did. */
interface Projected {
  outcomes: Outcome[];
  entries: Entry[];
  /** The documents the batch writes (collection/id), in the order first changed. */
  written: string[];
}

/**
 * Stored documents and a journal, as the projection service keeps them: each batch is projected
 * over the documents it refers to, its changes are written back (checking the revision each
 * replaces) and its journal entries kept, so the next batch sees them.
 */
class World {
  readonly docs = new Map<string, AnyDoc>();
  /** Journaled event ids and their fingerprints. */
  readonly journal = new Map<string, string | null>();
  readonly entries: Entry[] = [];
  private batches = 0;

  constructor(readonly rules: AvailabilityRules = DEFAULT_RULES) {}

  given<C extends CollectionName>(collection: C, ...docs: Array<DocsByCollection[C]>): this {
    for (const doc of docs) this.docs.set(docKey({ collection, id: doc._id }), structuredClone(doc));
    return this;
  }

  project(events: readonly ShopEvent[]): Projected {
    const inputs = events.map((event) => ({ event }));
    const snapshot = new Snapshot();
    for (const { event } of inputs) {
      for (const ref of refsOf(event)) {
        if (!snapshot.has(ref.collection, ref.id)) snapshot.load(ref.collection, ref.id, structuredClone(this.docs.get(docKey(ref)) ?? null));
      }
    }
    const applied = new Map<string, string | null>();
    for (const { event } of inputs) if (this.journal.has(event.id)) applied.set(event.id, this.journal.get(event.id) ?? null);
    const outcomes = projectBatch(inputs, snapshot, applied, this.rules);
    const entries = entriesOf(inputs, outcomes, '2026-03-02T00:00:00.000Z', `intent-${++this.batches}`);
    const written: string[] = [];
    for (const change of snapshot.changes()) {
      const key = docKey({ collection: change.collection, id: change.doc._id });
      expect(this.docs.get(key)?._rev ?? 0, `${key}: the revision the change replaces`).toBe(change.expectedRev);
      this.docs.set(key, structuredClone(change.doc));
      written.push(key);
    }
    for (const entry of entries) {
      expect(this.journal.has(entry.doc._id), `${entry.doc._id} journaled twice`).toBe(false);
      this.journal.set(entry.doc._id, entry.doc.h ?? null);
      this.entries.push(entry);
    }
    return { outcomes, entries, written };
  }

  /** Each batch in turn; their outcomes, flat. */
  projectAll(batches: ReadonlyArray<readonly ShopEvent[]>): Outcome[] {
    return batches.flatMap((events) => this.project(events).outcomes);
  }

  stock(options: Where = {}): StockDoc | undefined {
    return this.docs.get(docKey({ collection: 'stock', id: stockKey(options.store ?? 'berlin', options.sku ?? 'SKU-1') })) as StockDoc | undefined;
  }

  reservation(id: string): ReservationDoc | undefined {
    return this.docs.get(docKey({ collection: 'reservations', id })) as ReservationDoc | undefined;
  }

  store(id: string): StoreDoc | undefined {
    return this.docs.get(docKey({ collection: 'stores', id })) as StoreDoc | undefined;
  }

  /** Everything as stored, ordered by key. */
  snapshot(): Array<[string, AnyDoc]> {
    return [...this.docs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** A shop with SKU-1 in the catalogue and `level` units of it at berlin. */
const shopWith = (level: number, rules: AvailabilityRules = DEFAULT_RULES) => new World(rules).given('products', product('SKU-1')).given('stock', stocked(level));

const statusOf = (outcome: Outcome | undefined): string => {
  if (!outcome) return 'none';
  if (outcome.status === 'rejected') return `rejected:${outcome.reason}`;
  if (outcome.status === 'duplicate') return 'duplicate';
  return outcome.reservation ? `${outcome.reservation.status}${outcome.reservation.reason ? `:${outcome.reservation.reason}` : ''}` : 'applied';
};
const count = (outcomes: readonly Outcome[]) => {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[statusOf(outcome)] = (counts[statusOf(outcome)] ?? 0) + 1;
  return counts;
};
const withMargin = (margin: Margin, margins?: Record<string, Margin>) => availabilityRules({ safetyMargin: margin, ...(margins ? { margins } : {}), staleAfterMs: 30_000 });

describe('reservations (projector)', () => {
  describe('requests', () => {
    it('a confirmed request holds its quantity in the stock document and leaves the level', () => {
      const world = shopWith(10);
      const { outcomes, entries, written } = world.project([requested('r1', 3)]);
      expect(outcomes).toEqual([{ status: 'applied', reservation: { id: 'r1', status: 'confirmed', changed: true } }]);
      expect(world.stock()).toMatchObject({ level: 10, pending: 3, _rev: 2, updatedAt: at(-60) });
      expect(world.reservation('r1')).toEqual({
        _id: 'r1',
        _rev: 1,
        customerId: 'c1',
        store: 'berlin',
        sku: 'SKU-1',
        quantity: 3,
        status: 'confirmed',
        requestedAt: at(0),
        expiresAt: at(TTL),
        updatedAt: at(0),
      });
      // The hold changes the SKU's position too (its pending), in the same write.
      expect(written.sort()).toEqual(['positions/SKU-1', 'reservations/r1', 'stock/berlin:SKU-1']);
      // Journaled, without a stock effect: the level did not change.
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ collection: 'journal', doc: { _id: 'rsv.requested.r1', type: 'shop.reservation.requested.v1', subject: 'reservation/r1' } });
      expect(entries[0]!.doc.stock).toBeUndefined();
    });

    it('holds add up over requests, and more than is left to promise is rejected with what was available', () => {
      const world = shopWith(10);
      const { outcomes } = world.project([requested('r1', 4), requested('r2', 4), requested('r3', 3), requested('r4', 2)]);
      expect(outcomes.map(statusOf)).toEqual(['confirmed', 'confirmed', 'rejected:insufficient_stock', 'confirmed']);
      expect(outcomes[2]).toMatchObject({ reservation: { message: "store 'berlin', SKU 'SKU-1': requested 3, available to promise 2 (on hand 10, held 8, safety margin 0)" } });
      expect(world.stock()).toMatchObject({ level: 10, pending: 10 });
      expect(world.reservation('r3')).toMatchObject({ status: 'rejected', reason: 'insufficient_stock' });
    });

    it('50 requests of 1 unit in one batch for 10 units: exactly 10 confirmed, 40 rejected, 10 held', () => {
      const world = shopWith(10);
      const outcomes = world.project(Array.from({ length: 50 }, (_, i) => requested(`r${i}`, 1, { customerId: `c${i}` }))).outcomes;
      expect(count(outcomes)).toEqual({ confirmed: 10, 'rejected:insufficient_stock': 40 });
      // First come, first served: the first 10 in the batch.
      expect(outcomes.slice(0, 10).every((o) => statusOf(o) === 'confirmed')).toBe(true);
      expect(world.stock()).toMatchObject({ level: 10, pending: 10 });
      const docs = Array.from({ length: 50 }, (_, i) => world.reservation(`r${i}`)!);
      expect(docs.filter((doc) => doc.status === 'confirmed').reduce((sum, doc) => sum + doc.quantity, 0)).toBe(10);
      expect(world.entries).toHaveLength(50); // every request is applied (its decision is its effect)
    });

    it.each([1, 3, 7, 50])('50 requests of 1 unit for 10 units spread over batches of %d: the same 10 confirmed, never more held than on hand', (size) => {
      const world = shopWith(10);
      const events = Array.from({ length: 50 }, (_, i) => requested(`r${i}`, 1));
      const outcomes: Outcome[] = [];
      for (let i = 0; i < events.length; i += size) {
        outcomes.push(...world.project(events.slice(i, i + size)).outcomes);
        const stock = world.stock()!;
        expect(stock.pending ?? 0).toBeLessThanOrEqual(stock.level);
      }
      expect(count(outcomes)).toEqual({ confirmed: 10, 'rejected:insufficient_stock': 40 });
      expect(outcomes.findIndex((o) => statusOf(o) !== 'confirmed')).toBe(10);
      expect(world.stock()).toMatchObject({ level: 10, pending: 10 });
    });

    it.each<[string, Margin, number]>([
      ['2 units', { units: 2 }, 8],
      ['25% (2.5 units, rounded up to 3)', { percent: 25 }, 7],
      ['10%', { percent: 10 }, 9],
      ['all of it (100%)', { percent: 100 }, 0],
      ['more units than on hand', { units: 12 }, 0],
    ])('with a safety margin of %s, 50 requests of 1 for 10 units confirm %d, never holding more than on hand minus the margin', (_what, margin, confirmed) => {
      const world = shopWith(10, withMargin(margin));
      const events = Array.from({ length: 50 }, (_, i) => requested(`r${i}`, 1));
      const outcomes = [...world.project(events.slice(0, 20)).outcomes, ...world.project(events.slice(20)).outcomes];
      expect(outcomes.filter((o) => statusOf(o) === 'confirmed')).toHaveLength(confirmed);
      expect(outcomes.filter((o) => statusOf(o) === 'rejected:insufficient_stock')).toHaveLength(50 - confirmed);
      expect(world.stock()!.pending ?? 0).toBe(confirmed);
      expect(world.stock()!.pending ?? 0).toBeLessThanOrEqual(Math.max(0, 10 - marginUnits(margin, 10)));
    });

    it('a margin in units: a request of all but the margin is confirmed, one unit more is not', () => {
      const world = shopWith(10, withMargin({ units: 2 }));
      const { outcomes } = world.project([requested('r1', 9), requested('r2', 8), requested('r3', 1)]);
      expect(outcomes.map(statusOf)).toEqual(['rejected:insufficient_stock', 'confirmed', 'rejected:insufficient_stock']);
      expect(outcomes[0]).toMatchObject({ reservation: { message: expect.stringContaining('available to promise 8 (on hand 10, held 0, safety margin 2)') as string } });
      expect(world.stock()).toMatchObject({ level: 10, pending: 8 });
    });

    it('a margin in percent is taken of the units on hand, rounded up', () => {
      // 15% of 10 is 1.5: 2 kept back, 8 to promise.
      const world = shopWith(10, withMargin({ percent: 15 }));
      const { outcomes } = world.project([requested('r1', 9), requested('r2', 8)]);
      expect(outcomes.map(statusOf)).toEqual(['rejected:insufficient_stock', 'confirmed']);
      expect(outcomes[0]).toMatchObject({ reservation: { message: expect.stringContaining('safety margin 2') as string } });
    });

    it("a store's own margin applies to it only", () => {
      const rules = withMargin({ units: 0 }, { berlin: { units: 5 } });
      const world = new World(rules).given('products', product('SKU-1')).given('stock', stocked(10), stocked(10, { store: 'rome' }));
      const { outcomes } = world.project([requested('r1', 6), requested('r2', 6, { store: 'rome' })]);
      expect(outcomes.map(statusOf)).toEqual(['rejected:insufficient_stock', 'confirmed']);
    });

    it('a request of a SKU with no product is rejected as unknown_sku, holding nothing', () => {
      const world = new World().given('stock', stocked(10, { sku: 'GHOST' }));
      const { outcomes, entries, written } = world.project([requested('r1', 1, { sku: 'GHOST' })]);
      expect(outcomes).toEqual([
        { status: 'applied', reservation: { id: 'r1', status: 'rejected', changed: true, reason: 'unknown_sku', message: "no product with SKU 'GHOST'" } },
      ]);
      expect(world.stock({ sku: 'GHOST' })).toMatchObject({ level: 10, _rev: 1 });
      expect(world.stock({ sku: 'GHOST' })!.pending).toBeUndefined();
      expect(written).toEqual(['reservations/r1']);
      expect(world.reservation('r1')).toMatchObject({ status: 'rejected', reason: 'unknown_sku' });
      expect(entries).toHaveLength(1);
    });

    it('a request at a store with no stock document is rejected as insufficient_stock and creates none', () => {
      const world = new World().given('products', product('SKU-1'));
      const { outcomes, written } = world.project([requested('r1', 1)]);
      expect(outcomes.map(statusOf)).toEqual(['rejected:insufficient_stock']);
      expect(written).toEqual(['reservations/r1']);
      expect(world.stock()).toBeUndefined();
    });
  });

  describe('freshness', () => {
    it('a store whose last heartbeat is older than the SLA at the time of the request is stale: rejected store_stale', () => {
      const world = shopWith(10).given('stores', heard('berlin', 0));
      const { outcomes } = world.project([requested('r1', 1, { time: 31 })]);
      expect(outcomes).toEqual([
        {
          status: 'applied',
          reservation: {
            id: 'r1',
            status: 'rejected',
            changed: true,
            reason: 'store_stale',
            message: "store 'berlin' was last heard from 31s before the request (stale after 30s)",
          },
        },
      ]);
      expect(world.stock()).toMatchObject({ level: 10, _rev: 1 });
      expect(world.stock()!.pending).toBeUndefined();
    });

    it('at exactly the SLA the store is still fresh', () => {
      const world = shopWith(10).given('stores', heard('berlin', 0));
      expect(world.project([requested('r1', 1, { time: 30 })]).outcomes.map(statusOf)).toEqual(['confirmed']);
    });

    it('freshness is judged at the request time, not at the time it is projected', () => {
      // A request made 10 s after the last heartbeat, projected much later (a lagging consumer).
      const world = shopWith(10).given('stores', heard('berlin', 0));
      expect(world.project([requested('r1', 1, { time: 10 })]).outcomes.map(statusOf)).toEqual(['confirmed']);
    });

    it('with allowStale a request at a stale store is decided by the stock alone', () => {
      const world = shopWith(10).given('stores', heard('berlin', 0));
      const { outcomes } = world.project([requested('r1', 4, { time: 3600, allowStale: true }), requested('r2', 7, { time: 3600, allowStale: true })]);
      expect(outcomes.map(statusOf)).toEqual(['confirmed', 'rejected:insufficient_stock']);
      expect(world.stock()).toMatchObject({ pending: 4 });
    });

    it('allowStale: false is the same as not allowing it', () => {
      const world = shopWith(10).given('stores', heard('berlin', 0));
      expect(world.project([requested('r1', 1, { time: 60, allowStale: false })]).outcomes.map(statusOf)).toEqual(['rejected:store_stale']);
    });

    it('a store never heard from is not stale', () => {
      const world = shopWith(10);
      expect(world.project([requested('r1', 1, { time: 10 * 24 * 3600 })]).outcomes.map(statusOf)).toEqual(['confirmed']);
      expect(world.store('berlin')).toBeUndefined();
    });

    it('a heartbeat earlier in the same batch makes the store fresh for the requests after it', () => {
      const world = shopWith(10, availabilityRules({ safetyMargin: { units: 0 }, staleAfterMs: 5_000 })).given('stores', heard('berlin', 0));
      const { outcomes } = world.project([requested('r1', 1, { time: 100 }), heartbeat('berlin', 99), requested('r2', 1, { time: 100 })]);
      expect(outcomes.map(statusOf)).toEqual(['rejected:store_stale', 'applied', 'confirmed']);
    });

    it('the SLA of the rules decides', () => {
      const strict = shopWith(10, availabilityRules({ safetyMargin: { units: 0 }, staleAfterMs: 1_000 })).given('stores', heard('berlin', 0));
      expect(strict.project([requested('r1', 1, { time: 2 })]).outcomes.map(statusOf)).toEqual(['rejected:store_stale']);
    });
  });

  describe("the store's decision as an event", () => {
    it('a request the store decided gives its decision (confirmed or rejected with the reason), with an id and time of its own derived from the request', () => {
      const world = shopWith(3);
      const first = requested('r1', 2, { time: 5 });
      const second = requested('r2', 2, { time: 6 });
      const { outcomes } = world.project([first, second]);
      expect(decisionOf(first, outcomes[0])).toMatchObject({
        id: 'rsv.decided.r1',
        type: 'shop.reservation.decided.v1',
        time: at(5),
        subject: 'reservation/r1',
        data: { reservationId: 'r1', customerId: 'c1', store: 'berlin', sku: 'SKU-1', quantity: 2, status: 'confirmed' },
      });
      expect(decisionOf(second, outcomes[1])).toMatchObject({ data: { status: 'rejected', reason: 'insufficient_stock' } });
      // A repeat decided nothing new: no decision.
      expect(decisionOf(first, world.project([requested('r1', 2, { time: 9, id: 'again' })]).outcomes[0])).toBeNull();
    });

    it('a decision applied where the reservation is not known (a view fed by the topics) is taken as decided: the hold too, with no rule asked', () => {
      const decider = shopWith(3);
      const request = requested('r1', 2);
      const decided = decisionOf(request, decider.project([request]).outcomes[0])!;
      // A view whose stock is all sold: it would have rejected the request; it takes the decision.
      const view = shopWith(0);
      expect(view.project([decided]).outcomes).toEqual([{ status: 'applied', reservation: { id: 'r1', status: 'confirmed', changed: true } }]);
      expect(view.reservation('r1')).toMatchObject({ status: 'confirmed', quantity: 2, customerId: 'c1' });
      expect(view.stock()).toMatchObject({ pending: 2 });
      // Where it was decided (the store side), and where it is known already, it is a duplicate.
      expect(decider.project([decided]).outcomes).toEqual([{ status: 'duplicate' }]);
      expect(view.project([decided]).outcomes).toEqual([{ status: 'duplicate' }]);
      expect(view.stock()).toMatchObject({ pending: 2 });
    });
  });

  describe('the same request again', () => {
    it('the same request twice (same event id) is a duplicate and holds once, in one batch or two', () => {
      const world = shopWith(10);
      const request = requested('r1', 3);
      expect(world.project([request, request]).outcomes.map(statusOf)).toEqual(['confirmed', 'duplicate']);
      expect(world.project([request]).outcomes.map(statusOf)).toEqual(['duplicate']);
      expect(world.stock()).toMatchObject({ level: 10, pending: 3 });
      expect(world.entries).toHaveLength(1);
    });

    it('a second request for the same reservation id (another event id) changes nothing and says what the reservation is', () => {
      const world = shopWith(10);
      world.project([requested('r1', 3)]);
      const { outcomes, written } = world.project([requested('r1', 5, { id: 'another-id' })]);
      expect(outcomes).toEqual([{ status: 'applied', reservation: { id: 'r1', status: 'confirmed', changed: false } }]);
      expect(written).toEqual([]);
      expect(world.stock()).toMatchObject({ pending: 3 });
      expect(world.reservation('r1')).toMatchObject({ quantity: 3, _rev: 1 });
    });

    it('the same request sent again later (another expiry, --allow-stale) is a duplicate, not an id conflict; other units are a conflict', () => {
      const world = shopWith(10);
      world.project([requested('r1', 3)]);
      const retried = requested('r1', 3, { time: 5, ttl: TTL * 2, allowStale: true });
      expect(world.project([retried]).outcomes).toEqual([{ status: 'duplicate' }]);
      const other = world.project([requested('r1', 4, { time: 6 })]).outcomes;
      expect(other).toEqual([expect.objectContaining({ status: 'rejected', reason: 'id_conflict' })]);
      expect(world.stock()).toMatchObject({ pending: 3 });
    });

    it('a duplicate request is recognised before it is decided again: no rejection when the stock is all held now', () => {
      const world = shopWith(3);
      const request = requested('r1', 3);
      world.project([request]);
      expect(world.project([request]).outcomes).toEqual([{ status: 'duplicate' }]);
    });
  });

  describe('fulfilment', () => {
    it('fulfilling takes the units: level − q and pending − q, the reservation fulfilled, the stock effect journaled', () => {
      const world = shopWith(10);
      world.project([requested('r1', 3), requested('r2', 2)]);
      const { outcomes, entries } = world.project([fulfilled('r1', { time: 60 })]);
      expect(outcomes).toEqual([
        { status: 'applied', reservation: { id: 'r1', status: 'fulfilled', changed: true }, stock: { store: 'berlin', sku: 'SKU-1', change: -3, level: 7 } },
      ]);
      // The level changed at the fulfilment's time (what `stores` shows as the last stock change).
      expect(world.stock()).toMatchObject({ level: 7, pending: 2, updatedAt: at(60) });
      expect(world.reservation('r1')).toMatchObject({ status: 'fulfilled', _rev: 2, updatedAt: at(60), requestedAt: at(0) });
      expect(entries).toEqual([
        {
          collection: 'journal',
          doc: expect.objectContaining({ _id: 'rsv.fulfilled.r1', type: 'shop.reservation.fulfilled.v1', stock: { store: 'berlin', sku: 'SKU-1', change: -3, level: 7 } }) as unknown,
        },
      ]);
    });

    it('a fulfilment made before the expiry but applied after it (a sweep overtook it) still takes the units; after the expiry it changes nothing', () => {
      const world = shopWith(10);
      world.project([requested('r1', 3), requested('r2', 2)]);
      world.project([expired('r1', { time: TTL + 1 }), expired('r2', { time: TTL + 1 })]);
      expect(world.stock()).toMatchObject({ level: 10, pending: 0 });
      const early = world.project([fulfilled('r1', { time: TTL - 1 })]).outcomes;
      expect(early).toEqual([{ status: 'applied', reservation: { id: 'r1', status: 'fulfilled', changed: true }, stock: { store: 'berlin', sku: 'SKU-1', change: -3, level: 7 } }]);
      expect(world.stock()).toMatchObject({ level: 7, pending: 0 });
      const late = world.project([fulfilled('r2', { time: TTL + 2 })]).outcomes;
      expect(late).toEqual([{ status: 'applied', reservation: { id: 'r2', status: 'expired', changed: false } }]);
      expect(world.stock()).toMatchObject({ level: 7, pending: 0 });
    });

    it('the units a fulfilment took are not promised again', () => {
      const world = shopWith(5);
      world.project([requested('r1', 5)]);
      world.project([fulfilled('r1')]);
      expect(world.project([requested('r2', 1, { time: 2 })]).outcomes.map(statusOf)).toEqual(['rejected:insufficient_stock']);
      expect(world.stock()).toMatchObject({ level: 0, pending: 0 });
    });

    it('fulfilling twice with the same event id: the second is a duplicate', () => {
      const world = shopWith(10);
      world.project([requested('r1', 3)]);
      const fulfil = fulfilled('r1');
      expect(world.project([fulfil]).outcomes.map(statusOf)).toEqual(['fulfilled']);
      expect(world.project([fulfil]).outcomes).toEqual([{ status: 'duplicate' }]);
      expect(world.stock()).toMatchObject({ level: 7, pending: 0 });
    });

    it('fulfilling again with another event id changes nothing (changed: false, no stock effect, nothing written)', () => {
      const world = shopWith(10);
      world.project([requested('r1', 3), fulfilled('r1')]);
      const before = world.snapshot();
      const { outcomes, written, entries } = world.project([fulfilled('r1', { id: 'fulfil-again', time: 2 })]);
      expect(outcomes).toEqual([{ status: 'applied', reservation: { id: 'r1', status: 'fulfilled', changed: false } }]);
      expect(written).toEqual([]);
      // Not journaled either: a step that changed nothing leaves no trace.
      expect(entries).toEqual([]);
      expect(world.snapshot()).toEqual(before);
    });

    it('fulfilling after the shop floor sold the units: failed insufficient_stock, the hold released, the level unchanged', () => {
      const world = shopWith(10);
      world.project([requested('r1', 8)]);
      // The floor sells 5 of the 10 (a sale is checked against the level, not the holds).
      expect(world.project([sold(5)]).outcomes.map(statusOf)).toEqual(['applied']);
      const { outcomes, entries } = world.project([fulfilled('r1', { time: 2 })]);
      expect(outcomes).toEqual([
        {
          status: 'applied',
          reservation: {
            id: 'r1',
            status: 'failed',
            changed: true,
            reason: 'insufficient_stock',
            message: "store 'berlin', SKU 'SKU-1': 8 reserved, 5 on hand (sold on the shop floor meanwhile)",
          },
        },
      ]);
      expect(world.stock()).toMatchObject({ level: 5, pending: 0 });
      expect(world.reservation('r1')).toMatchObject({ status: 'failed', reason: 'insufficient_stock' });
      expect(entries[0]!.doc.stock).toBeUndefined();
    });

    it('fulfilling after the floor sold everything leaves the level at 0, never below', () => {
      const world = shopWith(4);
      world.project([requested('r1', 4)]);
      world.project([sold(4)]);
      expect(world.project([fulfilled('r1', { time: 2 })]).outcomes.map(statusOf)).toEqual(['failed:insufficient_stock']);
      expect(world.stock()).toMatchObject({ level: 0, pending: 0 });
    });

    it('of two holds the floor sold into, the first fulfilled takes what is left and the second fails', () => {
      const world = shopWith(10);
      world.project([requested('r1', 5), requested('r2', 5)]);
      world.project([sold(3)]);
      const { outcomes } = world.project([fulfilled('r1', { time: 2 }), fulfilled('r2', { time: 3 })]);
      expect(outcomes.map(statusOf)).toEqual(['fulfilled', 'failed:insufficient_stock']);
      expect(world.stock()).toMatchObject({ level: 2, pending: 0 });
    });

    it('a rejected reservation cannot be fulfilled: the step changes nothing', () => {
      const world = shopWith(1);
      world.project([requested('r1', 2)]);
      const { outcomes, written } = world.project([fulfilled('r1')]);
      expect(outcomes).toEqual([
        {
          status: 'applied',
          reservation: { id: 'r1', status: 'rejected', changed: false, reason: 'insufficient_stock', message: expect.any(String) as string },
        },
      ]);
      expect(written).toEqual([]);
      expect(world.stock()).toMatchObject({ level: 1, _rev: 1 });
    });
  });

  describe('cancelling and expiring', () => {
    it('cancelling releases the hold and leaves the level', () => {
      const world = shopWith(10);
      world.project([requested('r1', 4)]);
      const { outcomes, entries } = world.project([cancelled('r1', { time: 5 })]);
      expect(outcomes).toEqual([{ status: 'applied', reservation: { id: 'r1', status: 'cancelled', changed: true } }]);
      expect(world.stock()).toMatchObject({ level: 10, pending: 0 });
      expect(world.reservation('r1')).toMatchObject({ status: 'cancelled', updatedAt: at(5) });
      expect(entries).toHaveLength(1);
      expect(entries[0]!.doc.stock).toBeUndefined();
    });

    it('released units can be promised again', () => {
      const world = shopWith(4);
      world.project([requested('r1', 4)]);
      expect(world.project([requested('r2', 1, { time: 1 })]).outcomes.map(statusOf)).toEqual(['rejected:insufficient_stock']);
      world.project([cancelled('r1', { time: 2 })]);
      expect(world.project([requested('r3', 4, { time: 3 })]).outcomes.map(statusOf)).toEqual(['confirmed']);
    });

    it('expiring at or after expiresAt releases the hold', () => {
      const world = shopWith(10);
      world.project([requested('r1', 4), requested('r2', 2)]);
      const { outcomes } = world.project([expired('r1', { time: TTL }), expired('r2', { time: TTL + 60 })]);
      expect(outcomes.map(statusOf)).toEqual(['expired', 'expired']);
      expect(world.stock()).toMatchObject({ level: 10, pending: 0 });
      expect(world.reservation('r1')).toMatchObject({ status: 'expired', updatedAt: at(TTL) });
    });

    it('expiring before expiresAt changes nothing: still confirmed, still held', () => {
      const world = shopWith(10);
      world.project([requested('r1', 4)]);
      const { outcomes, written } = world.project([expired('r1', { time: TTL - 1, id: 'early-sweep' })]);
      expect(outcomes).toEqual([{ status: 'applied', reservation: { id: 'r1', status: 'confirmed', changed: false } }]);
      expect(written).toEqual([]);
      expect(world.stock()).toMatchObject({ pending: 4 });
      // The real expiry comes later and releases it.
      expect(world.project([expired('r1', { time: TTL })]).outcomes.map(statusOf)).toEqual(['expired']);
      expect(world.stock()).toMatchObject({ pending: 0 });
    });

    it('an early expiry sent under the derived event id does not keep the reservation from ever expiring', () => {
      // Two sweeps of the same reservation are one event (reservationEventId): the one sent too
      // early (a sweeper whose clock is behind the store's) must not make the real one a duplicate.
      const world = shopWith(10);
      world.project([requested('r1', 4)]);
      expect(world.project([expired('r1', { time: TTL - 1 })]).outcomes.map(statusOf)).toEqual(['confirmed']);
      expect(world.project([expired('r1', { time: TTL + 1 })]).outcomes.map(statusOf)).toEqual(['expired']);
      expect(world.stock()).toMatchObject({ pending: 0 });
    });

    it('a closed reservation is not closed again: cancel after fulfil, expire after cancel change nothing', () => {
      const world = shopWith(10);
      world.project([requested('r1', 4), requested('r2', 3)]);
      world.project([fulfilled('r1'), cancelled('r2')]);
      const before = world.snapshot();
      const { outcomes, written } = world.project([cancelled('r1', { time: 2 }), expired('r2', { time: TTL + 1 }), fulfilled('r2', { time: TTL + 2 })]);
      expect(outcomes).toEqual([
        { status: 'applied', reservation: { id: 'r1', status: 'fulfilled', changed: false } },
        { status: 'applied', reservation: { id: 'r2', status: 'cancelled', changed: false } },
        { status: 'applied', reservation: { id: 'r2', status: 'cancelled', changed: false } },
      ]);
      expect(written).toEqual([]);
      expect(world.snapshot()).toEqual(before);
      expect(world.stock()).toMatchObject({ level: 6, pending: 0 });
    });
  });

  describe('steps that refer to no reservation', () => {
    it.each<[StepKind]>([['fulfilled'], ['cancelled'], ['expired']])('%s of an unknown reservation is rejected as unknown_reference, changing nothing', (kind) => {
      const world = shopWith(10);
      const { outcomes, entries, written } = world.project([step(kind, 'nobody')]);
      expect(outcomes).toEqual([{ status: 'rejected', reason: 'unknown_reference', message: "unknown reservation 'nobody'" }]);
      expect(entries).toEqual([]);
      expect(written).toEqual([]);
    });

    it.each<[string, Where]>([
      ['another store', { store: 'rome' }],
      ['another SKU', { sku: 'SKU-2' }],
    ])('a step naming %s than the reservation is rejected as unknown_reference, the hold kept', (_what, where) => {
      const world = shopWith(10).given('stock', stocked(10, { store: 'rome' }), stocked(10, { sku: 'SKU-2' }));
      world.project([requested('r1', 4)]);
      for (const kind of ['fulfilled', 'cancelled', 'expired'] as const) {
        const { outcomes, written } = world.project([step(kind, 'r1', { ...where, time: TTL + 1 })]);
        expect(outcomes).toEqual([{ status: 'rejected', reason: 'unknown_reference', message: expect.stringContaining("reservation 'r1' is for store 'berlin', SKU 'SKU-1'") as string }]);
        expect(written).toEqual([]);
      }
      expect(world.reservation('r1')).toMatchObject({ status: 'confirmed' });
      expect(world.stock()).toMatchObject({ level: 10, pending: 4 });
      expect(world.stock(where)).toMatchObject({ level: 10, _rev: 1 });
    });

    it('a refused step is not journaled: once the reservation exists, the same event applies', () => {
      const world = shopWith(10);
      const cancel = cancelled('r1', { time: 5 });
      expect(world.project([cancel]).outcomes.map(statusOf)).toEqual(['rejected:unknown_reference']);
      world.project([requested('r1', 2)]);
      expect(world.project([cancel]).outcomes.map(statusOf)).toEqual(['cancelled']);
    });
  });

  describe('heartbeats', () => {
    it('a heartbeat records the store as heard from at its time, and is not journaled', () => {
      const world = new World();
      const { outcomes, entries, written } = world.project([heartbeat('berlin', 10)]);
      expect(outcomes).toEqual([{ status: 'applied' }]);
      expect(entries).toEqual([]);
      expect(written).toEqual(['stores/berlin']);
      expect(world.store('berlin')).toEqual({ _id: 'berlin', _rev: 1, lastHeartbeat: at(10) });
    });

    it('the newest heartbeat is kept: an older or equal one changes nothing', () => {
      const world = new World();
      world.project([heartbeat('berlin', 10), heartbeat('berlin', 20)]);
      expect(world.store('berlin')).toMatchObject({ _rev: 2, lastHeartbeat: at(20) });
      const older = world.project([heartbeat('berlin', 15), heartbeat('berlin', 20)]);
      expect(older.outcomes).toEqual([
        { status: 'applied', unchanged: true },
        { status: 'applied', unchanged: true },
      ]);
      expect(older.written).toEqual([]);
      expect(older.entries).toEqual([]);
      expect(world.store('berlin')).toMatchObject({ _rev: 2, lastHeartbeat: at(20) });
    });

    it('the same heartbeat twice changes the store once: a duplicate within a batch, applied to no effect in a later one (not journaled)', () => {
      const world = new World();
      const beat = heartbeat('berlin', 10);
      expect(world.project([beat, beat]).outcomes).toEqual([{ status: 'applied' }, { status: 'duplicate' }]);
      const later = world.project([beat]);
      expect(later.outcomes).toEqual([{ status: 'applied', unchanged: true }]);
      expect(later.written).toEqual([]);
      expect(world.store('berlin')).toMatchObject({ _rev: 1 });
      expect(world.entries).toEqual([]);
    });

    it('heartbeats keep stores apart', () => {
      const world = new World();
      world.project([heartbeat('berlin', 10), heartbeat('rome', 5)]);
      expect(world.store('berlin')).toMatchObject({ lastHeartbeat: at(10) });
      expect(world.store('rome')).toMatchObject({ lastHeartbeat: at(5) });
    });
  });

  describe('times are instants, however they are written', () => {
    // Event times and expiresAt are RFC 3339 with any offset and any number of decimals (the
    // schemas accept `offset: true`); they are compared as instants, not as text.
    const stepAt = (kind: StepKind, reservationId: string, time: string) =>
      createEvent(`shop.reservation.${kind}.v1`, { reservationId, store: 'berlin', sku: 'SKU-1' }, ctx(time, reservationEventId(kind, reservationId)));
    const requestedUntil = (reservationId: string, expiresAt: string) =>
      createEvent(
        'shop.reservation.requested.v1',
        { reservationId, customerId: 'c1', store: 'berlin', sku: 'SKU-1', quantity: 2, expiresAt },
        ctx('2026-03-01T10:00:00.000Z', reservationEventId('requested', reservationId)),
      );

    it('an expiresAt with an offset: an expiry after that instant expires the reservation', () => {
      // 12:15+02:00 is 10:15Z; the sweep at 10:20Z is after it.
      const world = shopWith(10);
      world.project([requestedUntil('r1', '2026-03-01T12:15:00+02:00')]);
      expect(world.project([stepAt('expired', 'r1', '2026-03-01T10:20:00.000Z')]).outcomes.map(statusOf)).toEqual(['expired']);
      expect(world.stock()).toMatchObject({ pending: 0 });
    });

    it('an expiresAt with an offset: an expiry before that instant changes nothing', () => {
      // 10:15-02:00 is 12:15Z; a sweep at 11:00Z is 75 minutes early and must not release the hold.
      const world = shopWith(10);
      world.project([requestedUntil('r1', '2026-03-01T10:15:00-02:00')]);
      expect(world.project([stepAt('expired', 'r1', '2026-03-01T11:00:00.000Z')]).outcomes.map(statusOf)).toEqual(['confirmed']);
      expect(world.stock()).toMatchObject({ pending: 2 });
    });

    it('a newer heartbeat written with more decimals than the stored one is kept', () => {
      // 10:00:00.500Z is half a second after 10:00:00Z.
      const world = new World().given('stores', { _id: 'berlin', _rev: 1, lastHeartbeat: '2026-03-01T10:00:00Z' });
      const beat = createEvent('shop.store.heartbeat.v1', { store: 'berlin' }, ctx('2026-03-01T10:00:00.500Z'));
      expect(world.project([beat]).written).toEqual(['stores/berlin']);
      expect(Date.parse(world.store('berlin')!.lastHeartbeat!)).toBe(Date.parse('2026-03-01T10:00:00.500Z'));
    });

    it('a newer heartbeat written with an offset is kept; an older one is not', () => {
      const world = new World().given('stores', { _id: 'berlin', _rev: 1, lastHeartbeat: '2026-03-01T10:00:00.000Z' });
      // 09:30-01:00 is 10:30Z (newer); 11:30+02:00 is 09:30Z (older).
      world.project([createEvent('shop.store.heartbeat.v1', { store: 'berlin' }, ctx('2026-03-01T11:30:00.000+02:00'))]);
      expect(world.store('berlin')).toMatchObject({ lastHeartbeat: '2026-03-01T10:00:00.000Z' });
      world.project([createEvent('shop.store.heartbeat.v1', { store: 'berlin' }, ctx('2026-03-01T09:30:00.000-01:00'))]);
      expect(Date.parse(world.store('berlin')!.lastHeartbeat!)).toBe(Date.parse('2026-03-01T10:30:00.000Z'));
    });
  });

  describe('replay', () => {
    const history = (): ShopEvent[][] => [
      [heartbeat('berlin', 0), requested('r1', 3, { time: 1 }), requested('r2', 4, { time: 2 }), requested('r3', 5, { time: 3 }), requested('r4', 1, { time: 4, sku: 'GHOST' })],
      [received(2, { time: 5 }), requested('r5', 2, { time: 6 }), sold(1, { time: 7 }), heartbeat('berlin', 8)],
      [fulfilled('r1', { time: 10 }), cancelled('r2', { time: 11 }), fulfilled('nobody', { time: 12 }), requested('r6', 1, { time: 60 })],
      [expired('r5', { time: TTL + 6 }), fulfilled('r1', { time: TTL + 7, id: 'fulfil-again' }), heartbeat('berlin', 1)],
    ];

    it('replaying the whole sequence gives the same documents: every applied event a duplicate', () => {
      const world = shopWith(10);
      const events = history();
      const first = world.projectAll(events);
      expect(first.map(statusOf)).toEqual([
        'applied',
        'confirmed',
        'confirmed',
        'rejected:insufficient_stock',
        'rejected:unknown_sku',
        'applied',
        'confirmed',
        'applied',
        'applied',
        'fulfilled',
        'cancelled',
        'rejected:unknown_reference',
        'rejected:store_stale',
        'expired',
        'fulfilled',
        'applied',
      ]);
      expect(world.stock()).toMatchObject({ level: 8, pending: 0 });
      const documents = world.snapshot();
      const journal = [...world.journal.keys()];

      const again = world.projectAll(events);
      // Journaled events are duplicates; the refused step is refused again; heartbeats and steps
      // that changed nothing (neither journaled) are applied again and change nothing again.
      expect(again.map(statusOf)).toEqual(first.map((outcome, i) => {
        const event = events.flat()[i]!;
        if (event.type === 'shop.store.heartbeat.v1') return 'applied';
        if (outcome.status === 'applied' && outcome.reservation?.changed === false) return statusOf(outcome);
        return outcome.status === 'rejected' ? statusOf(outcome) : 'duplicate';
      }));
      expect(world.snapshot()).toEqual(documents);
      expect([...world.journal.keys()]).toEqual(journal);
    });

    it('the same events in other batch boundaries end in the same documents', () => {
      const all = history().flat();
      const one = shopWith(10);
      one.project(all);
      const single = shopWith(10);
      for (const event of all) single.project([event]);
      const strip = (world: World) => world.snapshot().map(([key, doc]) => [key, { ...doc, _rev: undefined }]);
      expect(strip(single)).toEqual(strip(one));
      expect(single.stock()).toEqual(one.stock());
    });
  });
});
