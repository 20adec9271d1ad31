import { describe, expect, it } from 'vitest';
import { reservationEventId } from '../../src/domain/availability.js';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import type { Intent, OutboxRecord } from '../../src/domain/projection-port.js';
import type { Entry } from '../../src/domain/projector.js';
import { createProjection, type ApplyOptions } from '../../src/services/projection.js';
import { Crash, MemoryStore } from '../helpers/memory-store.js';

// Given/when/then for the outbox of the db path: the projection service over a store in memory,
// applying with `outbox: true`. Every applied event gets one record (a refused or duplicate one
// none), in the order applied, whatever write a crash stopped at.

let n = 0;
const T = '2026-03-01T10:00:00.000Z';
const ctx = (time = T, id?: string) => ({ id: id ?? `evt-${String(++n).padStart(4, '0')}`, time, source: 'test' });
const registered = (customerId: string) =>
  createEvent(
    'shop.customer.registered.v1',
    { customerId, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: { street: '1 Main St', city: 'London', postalCode: 'N1', country: 'UK' }, locale: 'en' },
    ctx(),
  );
const added = (sku: string) => createEvent('shop.product.added.v1', { sku, name: 'Widget', category: 'Tools', price: { amount: 250, currency: 'EUR' } }, ctx());
const received = (sku: string, quantity: number, store = 'berlin') => createEvent('shop.stock.received.v1', { store, sku, quantity }, ctx());
const sold = (sku: string, quantity: number, store = 'berlin') => createEvent('shop.stock.sold.v1', { store, sku, quantity }, ctx());
const bought = (customerId: string, sku: string, quantity: number, store = 'berlin') =>
  createEvent('shop.purchase.made.v1', { customerId, sku, store, quantity, unitPrice: { amount: 250, currency: 'EUR' } }, ctx());
const heartbeat = (store: string, time: string) => createEvent('shop.store.heartbeat.v1', { store }, ctx(time));
const requested = (reservationId: string, sku: string, quantity: number, store = 'berlin') =>
  createEvent(
    'shop.reservation.requested.v1',
    { reservationId, customerId: 'c1', store, sku, quantity, expiresAt: '2026-03-01T10:15:00.000Z' },
    ctx('2026-03-01T10:00:05.000Z', reservationEventId('requested', reservationId)),
  );
const step = (kind: 'fulfilled' | 'cancelled' | 'expired', reservationId: string, sku: string, store = 'berlin') =>
  createEvent(`shop.reservation.${kind}.v1`, { reservationId, store, sku }, ctx('2026-03-01T10:01:00.000Z', reservationEventId(kind, reservationId)));

/** Batches with applied, refused and duplicate events of every kind. */
function batches(): ShopEvent[][] {
  const first = requested('r1', 'A', 3);
  return [
    [registered('c1'), added('A'), received('A', 10), heartbeat('berlin', T)],
    // r2 is applied (rejected by the store: 8 > 7 to promise); 'nobody' is refused; r1 again is a duplicate.
    [first, requested('r2', 'A', 8), bought('c1', 'A', 2), step('fulfilled', 'nobody', 'A'), first],
    // ghost's purchase is refused.
    [step('fulfilled', 'r1', 'A'), requested('r3', 'A', 2), step('cancelled', 'r3', 'A'), sold('A', 1), bought('ghost', 'A', 1), heartbeat('berlin', '2026-03-01T10:00:10.000Z')],
  ];
}

// One clock for every writer of a test: one millisecond on at each reading, as a wall clock moves.
let clock = Date.parse('2026-03-02T00:00:00.000Z');
let intents = 0;
const projectionOver = (store: MemoryStore, now: () => Date = () => new Date((clock += 1))) =>
  createProjection(store, { now, newId: () => `intent-${String(++intents).padStart(6, '0')}` });

const label = (outcome: { status: string; reason?: string }) => (outcome.status === 'rejected' ? (outcome.reason ?? 'rejected') : outcome.status);

async function applyAll(store: MemoryStore, all: ShopEvent[][], options: ApplyOptions = { outbox: true }) {
  const statuses: string[][] = [];
  for (const events of all) {
    const { outcomes } = await projectionOver(store).apply(events.map((event) => ({ event })), options);
    statuses.push(outcomes.map(label));
  }
  return statuses;
}

/** The outbox in id order (the order `relay` publishes in). */
const outboxOf = (store: MemoryStore): OutboxRecord[] => [...store.outbox.values()].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
/** The events of the outbox, in id order. */
const publishedOf = (store: MemoryStore): ShopEvent[] => outboxOf(store).map((record) => JSON.parse(record.value) as ShopEvent);

/** What a user sees: documents, journal and outbox (its events in order), without the write bookkeeping. */
function state(store: MemoryStore) {
  const strip = <T extends object>(doc: T) => Object.fromEntries(Object.entries(doc).filter(([key]) => !['_intent', '_at', 'intent', 'applied'].includes(key)));
  const sorted = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, doc]) => strip(doc as object));
  return { docs: sorted(store.docs), journal: sorted(store.journal), purchases: sorted(store.purchases), intents: store.intents.size, outbox: publishedOf(store) };
}

/** Each record was inserted by the intent that journaled its event (none is left of an undone write). */
function expectRecordsOfCompletedWrites(store: MemoryStore) {
  for (const record of store.outbox.values()) {
    const event = JSON.parse(record.value) as ShopEvent;
    if (event.type === 'shop.store.heartbeat.v1') continue; // not journaled
    // A decision is recorded for the request it decided (journaled under the request's id).
    const journaledAs = event.type === 'shop.reservation.decided.v1' ? reservationEventId('requested', event.data.reservationId) : event.id;
    const entry: Entry['doc'] | undefined = (event.type === 'shop.purchase.made.v1' ? store.purchases : store.journal).get(journaledAs);
    expect(entry?.intent, `the record of ${event.id}`).toBe(record.intent);
  }
}

/** The store's calls, in order. */
class RecordingStore extends MemoryStore {
  readonly calls: string[] = [];
  override saveIntent(intent: Intent) {
    this.calls.push('saveIntent');
    return super.saveIntent(intent);
  }
  override insertOutbox(records: readonly OutboxRecord[]) {
    this.calls.push(`insertOutbox:${records.length}`);
    return super.insertOutbox(records);
  }
  override insertEntries(entries: readonly Entry[], intent: string) {
    this.calls.push(`insertEntries:${entries.length}`);
    return super.insertEntries(entries, intent);
  }
  override writeChanges(intent: Intent) {
    this.calls.push('writeChanges');
    return super.writeChanges(intent);
  }
  override removeEntries(intent: Intent) {
    this.calls.push('removeEntries');
    return super.removeEntries(intent);
  }
  override dropIntent(id: string) {
    this.calls.push('dropIntent');
    return super.dropIntent(id);
  }
}

/** A store that, once, does not see what the journal holds: another writer journaled the events between the read and the insert. */
class RacingStore extends MemoryStore {
  blindOnce = false;
  override applied(events: Parameters<MemoryStore['applied']>[0]) {
    if (this.blindOnce) {
      this.blindOnce = false;
      return Promise.resolve(new Map<string, string | null>());
    }
    return super.applied(events);
  }
}

describe("the store's decisions, for the Kafka path to send", () => {
  it('a request decided now gives its decision; found applied before (a redelivery), its decision again from the stored reservation', async () => {
    const store = new MemoryStore();
    await projectionOver(store).apply([registered('c1'), added('A'), received('A', 5)].map((event) => ({ event })));
    const request = requested('d1', 'A', 4);
    const first = await projectionOver(store).apply([{ event: request }, { event: requested('d2', 'A', 4) }]);
    expect(first.decisions.map((d) => [d.id, d.data.status, d.data.reason])).toEqual([
      ['rsv.decided.d1', 'confirmed', undefined],
      ['rsv.decided.d2', 'rejected', 'insufficient_stock'],
    ]);
    // The consumer crashed before sending them: the chunk comes again, every request a duplicate.
    await projectionOver(store).apply([{ event: step('fulfilled', 'd1', 'A') }]);
    const again = await projectionOver(store).apply([{ event: request }, { event: requested('d2', 'A', 4) }]);
    expect(again.outcomes.map((outcome) => outcome.status)).toEqual(['duplicate', 'duplicate']);
    expect(again.decisions).toEqual(first.decisions); // d1 fulfilled since: it was confirmed
    // Nothing else gives a decision.
    expect((await projectionOver(store).apply([{ event: received('A', 1) }])).decisions).toEqual([]);
  });
});

describe('outbox', () => {
  const all = batches();

  it('each applied event gets one record; refused and duplicate ones none', async () => {
    const store = new MemoryStore();
    const statuses = await applyAll(store, all);
    expect(statuses).toEqual([
      ['applied', 'applied', 'applied', 'applied'],
      ['applied', 'applied', 'applied', 'unknown_reference', 'duplicate'],
      ['applied', 'applied', 'applied', 'applied', 'unknown_reference', 'applied'],
    ]);
    const applied = all.flatMap((events, b) => events.filter((_, i) => statuses[b]![i] === 'applied'));
    expect(store.outbox.size).toBe(12);
    // The records carry the events as they were sent, in the order applied; a reservation
    // request goes out as the store's decision on it (consumers apply it, never decide again).
    const asSent = (event: ShopEvent) => (event.type === 'shop.reservation.requested.v1' ? reservationEventId('decided', event.data.reservationId) : event.id);
    expect(publishedOf(store).map((event) => event.id)).toEqual(applied.map(asSent));
    expect(new Set(publishedOf(store).map((event) => event.id)).size).toBe(12);
    // The store's decision on r2 (rejected: 8 > 7) goes to Kafka as a decision event.
    const r2 = publishedOf(store).find((event) => event.id === reservationEventId('decided', 'r2'));
    expect(r2).toMatchObject({ type: 'shop.reservation.decided.v1', data: { reservationId: 'r2', status: 'rejected', reason: 'insufficient_stock', quantity: 8 } });
    const r1 = publishedOf(store).find((event) => event.id === reservationEventId('decided', 'r1'));
    expect(r1).toMatchObject({ type: 'shop.reservation.decided.v1', data: { reservationId: 'r1', status: 'confirmed', quantity: 3 } });
    expect(store.docs.get('stock/berlin:A')).toMatchObject({ level: 4, pending: 0 });
    expect(store.intents.size).toBe(0);
    expectRecordsOfCompletedWrites(store);
  });

  it('record ids sort in the order the events were applied, within a batch and across batches', async () => {
    const store = new MemoryStore();
    await applyAll(store, all);
    const insertion = [...store.outbox.keys()];
    expect(outboxOf(store).map((record) => record._id)).toEqual(insertion);
    // Within a batch: the event's place, zero-padded (10 sorts after 9).
    const many = new MemoryStore();
    await applyAll(many, [Array.from({ length: 12 }, (_, i) => registered(`c${i}`))]);
    expect(publishedOf(many).map((event) => (event.data as { customerId: string }).customerId)).toEqual(Array.from({ length: 12 }, (_, i) => `c${i}`));
  });

  it('a record names the intent that wrote it, and its event as JSON', async () => {
    const store = new MemoryStore();
    const event = received('A', 1);
    await applyAll(store, [[event]]);
    const [record] = outboxOf(store);
    expect(JSON.parse(record!.value)).toEqual(event);
    expect(record!.intent).toBe(store.journal.get(event.id)!.intent);
    expect(record!._id).toContain(record!.intent);
  });

  it('records are inserted after the intent and before the journal entries', async () => {
    const store = new RecordingStore();
    await projectionOver(store).apply([{ event: registered('c1') }, { event: added('A') }], { outbox: true });
    expect(store.calls).toEqual(['saveIntent', 'insertOutbox:2', 'insertEntries:2', 'writeChanges', 'dropIntent']);
  });

  it('without `outbox` no records are written', async () => {
    const store = new RecordingStore();
    const statuses = await applyAll(store, all, {});
    expect(statuses[2]).toEqual(['applied', 'applied', 'applied', 'applied', 'unknown_reference', 'applied']);
    expect(store.outbox.size).toBe(0);
    expect(store.calls.filter((call) => call.startsWith('insertOutbox'))).toEqual([]);
    const explicit = new MemoryStore();
    await applyAll(explicit, all, { outbox: false });
    expect(explicit.outbox.size).toBe(0);
    expect(state(explicit)).toEqual({ ...state(store), outbox: [] });
  });

  it('the same batches again add no records (all duplicates, heartbeats change nothing)', async () => {
    const store = new MemoryStore();
    await applyAll(store, all);
    const before = outboxOf(store);
    await applyAll(store, all);
    expect(outboxOf(store)).toEqual(before);
  });

  it('a batch with nothing applied writes no record', async () => {
    const store = new MemoryStore();
    await applyAll(store, [[sold('A', 1), step('cancelled', 'nobody', 'A')]]);
    expect(store.outbox.size).toBe(0);
  });

  it('an attempt undone because another writer journaled its events meanwhile leaves no record', async () => {
    const store = new RacingStore();
    await applyAll(store, [all[0]!]);
    const before = outboxOf(store);
    store.blindOnce = true;
    const statuses = await applyAll(store, [[all[0]![2]!, received('A', 5)]]);
    expect(statuses).toEqual([['duplicate', 'applied']]);
    expect(publishedOf(store)).toEqual([...before.map((record) => JSON.parse(record.value) as ShopEvent), expect.objectContaining({ type: 'shop.stock.received.v1' })]);
    expect(store.docs.get('stock/berlin:A')).toMatchObject({ level: 15 });
    expectRecordsOfCompletedWrites(store);
  });

  it('records of a write undone after a crash (journal incomplete) are removed with it', async () => {
    const store = new MemoryStore();
    await applyAll(store, [all[0]!]);
    const before = outboxOf(store);
    // The intent, then 3 records (the second batch applies 3 events): crash at the first journal entry.
    store.crashAt(1 + 3 + 1);
    await expect(projectionOver(store).apply(all[1]!.map((event) => ({ event })), { outbox: true })).rejects.toBeInstanceOf(Crash);
    const [left] = [...store.intents.values()];
    expect([...store.outbox.values()].filter((record) => record.intent === left!._id)).toHaveLength(3);
    // The next writer of these documents undoes it (and its records), then applies its own batch.
    const { recovered } = await projectionOver(store).apply([{ event: received('A', 1) }], { outbox: true });
    expect(recovered).toBe(1);
    expect([...store.outbox.values()].filter((record) => record.intent === left!._id)).toEqual([]);
    expect(outboxOf(store).slice(0, before.length)).toEqual(before);
    expect(store.outbox.size).toBe(before.length + 1);
  });

  it('whatever write a crash stops at, the restarted writer ends with the docs, journal and outbox of an uninterrupted run', async () => {
    const reference = new MemoryStore();
    await applyAll(reference, all);
    const expected = state(reference);
    expect(expected.outbox).toHaveLength(12);
    const total = reference.steps;
    expect(total).toBeGreaterThan(30);
    const crashes = new Set<number>();
    for (let step = 1; step <= total; step += 1) {
      const store = new MemoryStore();
      store.crashAt(step);
      let crashedIn = -1;
      for (let index = 0; index < all.length && crashedIn < 0; index += 1) {
        try {
          await projectionOver(store).apply(all[index]!.map((event) => ({ event })), { outbox: true });
        } catch (error) {
          if (!(error instanceof Crash)) throw error;
          crashedIn = index;
        }
      }
      expect(crashedIn, `step ${step}`).toBeGreaterThanOrEqual(0);
      crashes.add(crashedIn);
      // The restarted writer gets the unacknowledged batches again.
      await applyAll(store, all.slice(crashedIn));
      expect(state(store), `crash at step ${step}`).toEqual(expected);
      expect(new Set(publishedOf(store).map((event) => event.id)).size, `crash at step ${step}: one record per event`).toBe(12);
      expectRecordsOfCompletedWrites(store);
    }
    expect(crashes).toEqual(new Set([0, 1, 2]));
  });

  it('a batch of heartbeats only (nothing journaled): a crash at any write still leaves one record per applied heartbeat', async () => {
    const beats = [[heartbeat('berlin', T)], [heartbeat('berlin', '2026-03-01T10:00:10.000Z'), heartbeat('rome', T)]];
    const reference = new MemoryStore();
    await applyAll(reference, beats);
    const expected = state(reference);
    expect(expected.outbox.map((event) => event.id)).toEqual(beats.flat().map((event) => event.id));
    const wrong: string[] = [];
    for (let step = 1; step <= reference.steps; step += 1) {
      const store = new MemoryStore();
      store.crashAt(step);
      let crashedIn = -1;
      for (let index = 0; index < beats.length && crashedIn < 0; index += 1) {
        try {
          await projectionOver(store).apply(beats[index]!.map((event) => ({ event })), { outbox: true });
        } catch (error) {
          if (!(error instanceof Crash)) throw error;
          crashedIn = index;
        }
      }
      await applyAll(store, beats.slice(crashedIn));
      const outbox = state(store).outbox.map((event) => event.id);
      if (JSON.stringify(state(store)) !== JSON.stringify(expected)) wrong.push(`crash at step ${step}: outbox ${outbox.join(', ')}`);
    }
    // Every crash point listed with what the outbox ended with, so that all of them show at once.
    expect(wrong).toEqual([]);
  });

  it('records of one key keep the order applied when two writers in turn have clocks that disagree', async () => {
    // Two db-path writers of the same store and SKU, one after the other under its lease; the
    // second's clock is 100 ms behind the first's (clocks of two hosts are never quite equal).
    const store = new MemoryStore();
    const first = received('A', 5);
    const second = sold('A', 2);
    await projectionOver(store, () => new Date('2026-03-02T00:00:00.500Z')).apply([{ event: first }], { outbox: true });
    await projectionOver(store, () => new Date('2026-03-02T00:00:00.400Z')).apply([{ event: second }], { outbox: true });
    expect(publishedOf(store).map((event) => event.id)).toEqual([first.id, second.id]);
  });
});
