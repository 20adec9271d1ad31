import { describe, expect, it } from 'vitest';
import { reservationEventId } from '../../src/domain/availability.js';
import { envelopeOf, stockKey, validateEvent, type ShopEvent } from '../../src/domain/events.js';
import { createFaker, generateCustomer, generateProduct, type CatalogEntry } from '../../src/domain/generators.js';
import {
  chooseKind,
  createShopModel,
  DEFAULT_MIX,
  parseMix,
  seededRandom,
  simulatedStores,
  SIMULATION_KINDS,
  type Drafted,
  type Mix,
  type ModelSettings,
} from '../../src/domain/simulation.js';
import { createProjection } from '../../src/services/projection.js';
import { createRuntime } from '../../src/services/runtime.js';
import { startingShop } from '../../src/services/simulate.js';
import { MemoryStore } from '../helpers/memory-store.js';

// The pure part of `shopctl simulate`: the mix, the seeded choice of what happens next, and the
// running model of stock that keeps purchases and sales to what is there.

const stores = simulatedStores(3);

function model(seed: number, overrides: Partial<ModelSettings> = {}) {
  const faker = createFaker(seed);
  let reservations = 0;
  let customers = 0;
  const products: CatalogEntry[] = Array.from({ length: 12 }, (_, i) => ({ sku: `SKU-${i}`, price: { amount: 100 + i, currency: 'EUR' } }));
  const levels = new Map(stores.flatMap((store, s) => products.map(({ sku }, p): [string, number] => [stockKey(store, sku), (s * 7 + p * 13) % 60])));
  return createShopModel(
    { stores, customers: ['c1', 'c2', 'c3'], products, levels },
    { mix: DEFAULT_MIX, refusalShare: 0.02, heartbeatEveryMs: 5000, ttlMs: 900_000, marginFor: () => ({ units: 0 }), ...overrides },
    {
      random: seededRandom(seed),
      reservationId: () => `r${seed}-${++reservations}`,
      customer: () => generateCustomer(faker, 'en', `new-${seed}-${++customers}`),
      product: (taken) => generateProduct(faker, 'EUR', taken),
    },
  );
}

/** At least `events` events of a model at `rate` events/s of simulated time, from a fixed clock. */
function run(shop: ReturnType<typeof model>, events: number, rate = 50): Drafted[] {
  const out: Drafted[] = [];
  while (out.length < events) out.push(...shop.next((out.length * 1000) / rate, new Date(Date.UTC(2026, 0, 1) + (out.length * 1000) / rate)));
  return out;
}

describe('the mix', () => {
  it('reads kind=weight pairs; a kind not named does not happen', () => {
    expect(parseMix('purchases=60,restocks=10,counts=5,sales=10,reservations=10,registrations=5')).toEqual(DEFAULT_MIX);
    expect(parseMix(' purchases = 80 , sales=20.5')).toEqual({ purchases: 80, restocks: 0, counts: 0, sales: 20.5, reservations: 0, registrations: 0 });
  });

  it.each([
    ['purchase=1', /unknown kind 'purchase'/],
    ['purchases=1,purchases=2', /given twice/],
    ['purchases=0', /every weight is 0/],
    ['purchases=-1', /not kind=weight/],
    ['purchases', /not kind=weight/],
    ['purchases=2000000', /from 0 to 1,000,000/],
  ])('refuses %j', (text, problem) => {
    const parsed = parseMix(text);
    expect(typeof parsed).toBe('string');
    expect(parsed).toMatch(problem);
  });

  it('draws each kind in its proportion (10,000 draws, within 1.5 points)', () => {
    const mix: Mix = { purchases: 60, restocks: 10, counts: 5, sales: 10, reservations: 10, registrations: 5 };
    const random = seededRandom(42);
    const counts = Object.fromEntries(SIMULATION_KINDS.map((kind) => [kind, 0])) as Record<string, number>;
    for (let i = 0; i < 10_000; i += 1) counts[chooseKind(mix, random)]! += 1;
    for (const kind of SIMULATION_KINDS) expect(Math.abs(counts[kind]! / 100 - mix[kind]), kind).toBeLessThan(1.5);
    // A kind weighted 0 never comes.
    const only = { ...mix, counts: 0, registrations: 0 };
    for (let i = 0; i < 2000; i += 1) expect(['counts', 'registrations']).not.toContain(chooseKind(only, random));
  });

  it('the seeded source is the same numbers for the same seed, others for another', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const first = Array.from({ length: 100 }, a);
    expect(Array.from({ length: 100 }, b)).toEqual(first);
    expect(Array.from({ length: 100 }, c)).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('store ids do not depend on the seed', () => {
    expect(simulatedStores(3)).toEqual(['berlin', 'paris', 'rome']);
    expect(new Set(simulatedStores(30)).size).toBe(30);
  });
});

describe('the running model', () => {
  it('the same seed makes the same events; another seed others', () => {
    const a = run(model(7), 3000);
    expect(run(model(7), 3000)).toEqual(a);
    expect(run(model(8), 3000)).not.toEqual(a);
  });

  it('every event it makes is valid', () => {
    run(model(3), 3000).forEach(({ draft }, i) => {
      const checked = validateEvent(envelopeOf(draft.type, draft.data as never, { id: `e${i}`, time: '2026-01-01T00:00:00Z', source: 'test' }));
      expect(checked.ok, JSON.stringify(draft)).toBe(true);
    });
  });

  it('asks for no more than the model has, except the refusal share; counts only pairs that take no purchases or reservations', () => {
    const shop = model(11, { refusalShare: 0.05 });
    // An independent ledger of the stock, applied as the projection applies events (in order).
    const level = new Map(shop.levels());
    const held = new Map<string, number>();
    const reserved = new Map<string, { key: string; quantity: number }>();
    let buys = 0;
    let refusals = 0;
    for (const { draft, note } of run(shop, 10_000)) {
      switch (draft.type) {
        case 'shop.purchase.made.v1':
        case 'shop.stock.sold.v1': {
          const key = stockKey(draft.data.store, draft.data.sku);
          const there = (level.get(key) ?? 0) - (held.get(key) ?? 0);
          buys += 1;
          if (draft.type === 'shop.purchase.made.v1' && note !== 'refusal' && shop.role(draft.data.store, draft.data.sku) === 'count') throw new Error(`a purchase of a counted pair ${key}`);
          if (note === 'refusal') {
            refusals += 1;
            expect(draft.data.quantity).toBeGreaterThan(shop.shelf);
            expect(draft.data.quantity).toBeGreaterThan(level.get(key) ?? 0);
          } else {
            if (draft.data.quantity > there) throw new Error(`${key}: asked ${draft.data.quantity}, ${there} there`);
            level.set(key, (level.get(key) ?? 0) - draft.data.quantity);
          }
          break;
        }
        case 'shop.stock.received.v1': {
          const key = stockKey(draft.data.store, draft.data.sku);
          level.set(key, (level.get(key) ?? 0) + draft.data.quantity);
          if ((level.get(key) ?? 0) > shop.shelf) throw new Error(`${key}: above a shelf`);
          break;
        }
        case 'shop.stock.counted.v1':
          expect(shop.role(draft.data.store, draft.data.sku)).toBe('count');
          level.set(stockKey(draft.data.store, draft.data.sku), draft.data.level);
          break;
        case 'shop.reservation.requested.v1': {
          const key = stockKey(draft.data.store, draft.data.sku);
          expect(shop.role(draft.data.store, draft.data.sku)).toBe('reserve');
          expect(draft.data.quantity).toBeLessThanOrEqual((level.get(key) ?? 0) - (held.get(key) ?? 0));
          held.set(key, (held.get(key) ?? 0) + draft.data.quantity);
          reserved.set(draft.data.reservationId, { key, quantity: draft.data.quantity });
          break;
        }
        case 'shop.reservation.fulfilled.v1':
        case 'shop.reservation.cancelled.v1': {
          const { key, quantity } = reserved.get(draft.data.reservationId)!;
          held.set(key, (held.get(key) ?? 0) - quantity);
          if (draft.type === 'shop.reservation.fulfilled.v1') level.set(key, (level.get(key) ?? 0) - quantity);
          break;
        }
        case 'shop.customer.registered.v1':
        case 'shop.product.added.v1':
        case 'shop.reservation.decided.v1':
        case 'shop.reservation.expired.v1':
        case 'shop.store.heartbeat.v1':
        case 'shop.store.defined.v1':
          break;
      }
      if ([...level.values()].some((units) => units < 0)) throw new Error(`a level below 0 after ${JSON.stringify(draft)}`);
    }
    expect(Math.abs(refusals / buys - 0.05)).toBeLessThan(0.015);
    // The ledger and the model agree on every level that the model knows.
    for (const [key, units] of shop.levels()) expect(level.get(key) ?? 0, key).toBe(units);
  });

  it('keeps the safety margin out of what it reserves', () => {
    const shop = model(5, { marginFor: () => ({ units: 5 }), mix: { purchases: 0, sales: 0, restocks: 0, counts: 0, registrations: 0, reservations: 1 } });
    const levels = shop.levels();
    const held = new Map<string, number>();
    const reserved = new Map<string, { key: string; quantity: number }>();
    const add = (map: Map<string, number>, key: string, units: number) => map.set(key, (map.get(key) ?? 0) + units);
    let asked = 0;
    // When no reservation can be made, the shop does what it can instead: the ledger follows all.
    for (const { draft, note } of run(shop, 600)) {
      if (draft.type === 'shop.stock.received.v1') add(levels, stockKey(draft.data.store, draft.data.sku), draft.data.quantity);
      if ((draft.type === 'shop.purchase.made.v1' || draft.type === 'shop.stock.sold.v1') && note !== 'refusal') add(levels, stockKey(draft.data.store, draft.data.sku), -draft.data.quantity);
      if (draft.type === 'shop.reservation.fulfilled.v1' || draft.type === 'shop.reservation.cancelled.v1') {
        const { key, quantity } = reserved.get(draft.data.reservationId)!;
        add(held, key, -quantity);
        if (draft.type === 'shop.reservation.fulfilled.v1') add(levels, key, -quantity);
      }
      if (draft.type !== 'shop.reservation.requested.v1') continue;
      const key = stockKey(draft.data.store, draft.data.sku);
      expect(draft.data.quantity).toBeLessThanOrEqual((levels.get(key) ?? 0) - (held.get(key) ?? 0) - 5);
      add(held, key, draft.data.quantity);
      reserved.set(draft.data.reservationId, { key, quantity: draft.data.quantity });
      asked += 1;
    }
    expect(asked).toBeGreaterThan(100);
  });

  it('sends each store a heartbeat every interval of simulated time, and reservations come to an end', () => {
    const drafts = run(model(9), 60 * 50); // a minute at 50 events/s
    const beats = drafts.filter(({ draft }) => draft.type === 'shop.store.heartbeat.v1');
    expect(beats).toHaveLength(3 * 12);
    const requested = drafts.filter(({ draft }) => draft.type === 'shop.reservation.requested.v1').length;
    const fulfilled = drafts.filter(({ draft }) => draft.type === 'shop.reservation.fulfilled.v1').length;
    const cancelled = drafts.filter(({ draft }) => draft.type === 'shop.reservation.cancelled.v1').length;
    const expiring = drafts.filter(({ note }) => note === 'expire').length;
    expect(requested).toBeGreaterThan(200);
    expect(fulfilled).toBeGreaterThan(cancelled);
    expect(cancelled).toBeGreaterThan(0);
    expect(expiring / requested).toBeGreaterThan(0.07);
    expect(expiring / requested).toBeLessThan(0.25);
  });
});

describe('through the projection', () => {
  it('an empty shop gets a starting catalogue; the store refuses exactly what was meant to be refused', async () => {
    const runtime = createRuntime(7, () => new Date('2026-01-01T00:00:00Z'));
    const levels = new Map<string, number>();
    const setup = startingShop(runtime, stores, { customers: [], products: [] }, levels, 'EUR');
    expect(setup.made).toEqual({ customers: 40, products: 20, restocks: 60 });
    const again = startingShop(createRuntime(7), stores, { customers: [], products: [] }, new Map(), 'EUR');
    expect(again.events.map((event) => event.id)).toEqual(setup.events.map((event) => event.id));

    let reservations = 0;
    const faker = createFaker(8);
    const shop = createShopModel(
      { stores, customers: setup.customers, products: setup.products, levels },
      { mix: DEFAULT_MIX, refusalShare: 0.03, heartbeatEveryMs: 5000, ttlMs: 60_000, marginFor: () => ({ units: 0 }) },
      { random: seededRandom(7), reservationId: () => `r-${++reservations}`, customer: () => generateCustomer(faker, 'en'), product: (taken) => generateProduct(faker, 'EUR', taken) },
    );
    const store = new MemoryStore();
    const projection = createProjection(store, { now: () => new Date('2026-01-01T00:00:00Z'), newId: () => `intent-${++reservations}` });
    await projection.apply(setup.events.map((event) => ({ event })));
    let made = 0;
    let meant = 0;
    let refused = 0;
    for (let chunk = 0; chunk < 40; chunk += 1) {
      const events: ShopEvent[] = [];
      const notes = new Set<string>();
      while (events.length < 100) {
        const simMs = (made * 1000) / 50;
        for (const { draft, note } of shop.next(simMs, new Date(Date.UTC(2026, 0, 1) + simMs))) {
          const id =
            draft.type === 'shop.reservation.requested.v1' || draft.type === 'shop.reservation.fulfilled.v1' || draft.type === 'shop.reservation.cancelled.v1'
              ? reservationEventId(draft.type.split('.')[2] as 'requested', draft.data.reservationId)
              : `e${made}`;
          const event = envelopeOf(draft.type, draft.data as never, { id, time: new Date(Date.UTC(2026, 0, 1) + simMs).toISOString(), source: 'test' }) as ShopEvent;
          if (note === 'refusal') notes.add(event.id);
          events.push(event);
          made += 1;
        }
      }
      meant += notes.size;
      const { outcomes } = await projection.apply(events.map((event) => ({ event })));
      outcomes.forEach((outcome, i) => {
        if (outcome.status !== 'rejected') return;
        refused += 1;
        expect(outcome.reason).toBe('insufficient_stock');
        expect(notes.has(events[i]!.id), `${events[i]!.type} ${outcome.message}`).toBe(true);
      });
      for (const outcome of outcomes) if (outcome.status === 'applied' && outcome.reservation) expect(outcome.reservation.status, outcome.reservation.message).not.toMatch(/rejected|failed/);
    }
    expect(meant).toBeGreaterThan(0);
    expect(refused).toBe(meant);
    const stock = [...store.docs.values()].filter((doc) => 'level' in doc) as unknown as Array<{ level: number; pending?: number }>;
    expect(stock.length).toBeGreaterThan(0);
    for (const doc of stock) expect(doc.level).toBeGreaterThanOrEqual(0);
  });
});
