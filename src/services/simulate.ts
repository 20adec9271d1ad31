import { catalogue, stockAtStore } from '../db/catalog-store.js';
import { parseDuration, reservationEventId } from '../domain/availability.js';
import { envelopeOf, stockKey, type EventType, type ShopEvent } from '../domain/events.js';
import { createFaker, generateCustomer, generateProduct, type CatalogEntry } from '../domain/generators.js';
import { createShopModel, formatMix, seededRandom, simulatedStores, type Draft, type DraftNote, type Mix } from '../domain/simulation.js';
import { catalogDigest } from './buy.js';
import type { Context } from './context.js';
import { context as eventContext } from './make.js';
import { rulesOf } from './projection-settings.js';
import { chunkForRate, explainWriteFailure, pump } from './pump.js';
import { createRuntime, digestOf, type Runtime } from './runtime.js';
import type { EventSink, SinkTotals } from './sinks.js';
import type { EventWriter } from './writer.js';

// `shopctl simulate`: a living shop, until stopped. The model (domain/simulation.ts) says what
// happens next; this service gives the events ids and times, writes them in chunks through the
// process's one writer (a bulk write or a produce request per chunk), paced like `buy --rate`,
// and counts what was written by kind.

/** Customers and products a simulation starts an empty shop with. */
export const STARTING_CUSTOMERS = 40;
export const STARTING_PRODUCTS = 20;

export interface SimulateRun {
  via: 'db' | 'kafka';
  /** Events per second (all of them: drawn ones, reservation steps, heartbeats). */
  rate: number;
  stores: number;
  seed: number | null;
  mix: Mix;
  /** Share of purchases and sales meant to be refused, 0 to 1. */
  refusalShare: number;
  /** Stops it: the chunk in flight is finished and counted. */
  signal: AbortSignal;
  /** Once the start is known and any starting catalogue written. */
  onStart?: (start: SimulationStart) => void;
  onProgress?: (totals: SimulationTotals, elapsedMs: number) => void;
}

export interface SimulationStart {
  stores: string[];
  seed: number;
  seeded: boolean;
  target: string;
  customers: number;
  products: number;
  /** What the simulation wrote first: a starting catalogue (an empty shop), opening stock (a store without any). */
  setup: { customers: number; products: number; restocks: number };
}

/** What a kind of event is counted as. */
export type TallyKind = 'purchases' | 'sales' | 'restocks' | 'counts' | 'reservations' | 'fulfilled' | 'cancelled' | 'customers' | 'products' | 'heartbeats';

export interface SimulationTotals {
  events: number;
  byKind: Record<TallyKind, number>;
  /** Purchases and sales made to be refused (more than a shelf holds). */
  meantToBeRefused: number;
  /** Reservations requested to be left to expire (`consume` expires them after their hold). */
  leftToExpire: number;
  /** The db path: events the store refused, by reason (the kafka path: decided by `consume`). */
  refused: Record<string, number>;
  /** The db path: events applied before (same ids: a seeded run again). */
  duplicates: number;
}

export interface SimulationResult extends SimulationStart, SimulationTotals {
  via: 'db' | 'kafka';
  rate: number;
  mix: string;
  refusalShare: number;
  elapsedMs: number;
}

const KIND_OF: Record<EventType, TallyKind | null> = {
  'shop.purchase.made.v1': 'purchases',
  'shop.stock.sold.v1': 'sales',
  'shop.stock.received.v1': 'restocks',
  'shop.stock.counted.v1': 'counts',
  'shop.reservation.requested.v1': 'reservations',
  'shop.reservation.fulfilled.v1': 'fulfilled',
  'shop.reservation.cancelled.v1': 'cancelled',
  'shop.customer.registered.v1': 'customers',
  'shop.product.added.v1': 'products',
  'shop.store.heartbeat.v1': 'heartbeats',
  'shop.reservation.decided.v1': null,
  'shop.reservation.expired.v1': null,
  'shop.store.defined.v1': null,
};

export const emptyTotals = (): SimulationTotals => ({
  events: 0,
  byKind: { purchases: 0, sales: 0, restocks: 0, counts: 0, reservations: 0, fulfilled: 0, cancelled: 0, customers: 0, products: 0, heartbeats: 0 },
  meantToBeRefused: 0,
  leftToExpire: 0,
  refused: {},
  duplicates: 0,
});

export async function simulate(context: Context, run: SimulateRun): Promise<SimulationResult> {
  const { config } = context;
  const runtime = createRuntime(run.seed);
  const { db } = await context.database();
  const stores = simulatedStores(run.stores);
  const found = await catalogue(db);
  const levels = new Map<string, number>();
  for (const store of stores) for (const { sku, level } of await stockAtStore(db, store)) levels.set(stockKey(store, sku), level);

  const writer = await context.writer(run.via);
  const target = run.via === 'db' ? config.mongodb.db : config.kafka.brokers.join(',');
  const notes = new Map<ShopEvent, DraftNote>();
  const totals = emptyTotals();
  const sink = countingSink(writer, target, totals, notes);
  let written = 0;
  try {
    const setup = startingShop(runtime, stores, { customers: found.customers.map((c) => c._id), products: found.products.map((p) => ({ sku: p._id, price: p.price })) }, levels, config.generate.currency);
    for (let at = 0; at < setup.events.length; at += 1000) await writer.write(setup.events.slice(at, at + 1000));
    written += setup.events.length;
    const start: SimulationStart = {
      stores,
      seed: runtime.seed,
      seeded: runtime.seeded,
      target,
      customers: setup.customers.length,
      products: setup.products.length,
      setup: setup.made,
    };
    run.onStart?.(start);

    const rules = rulesOf(config);
    const heartbeatEveryMs = config.availability.heartbeatSeconds * 1000;
    // The configuration's hold (validated as 1s to 30d); 15 minutes should it ever not parse.
    const ttlMs = parseDuration(config.availability.reservationTtl) ?? 900_000;
    // Seeded, what a run makes depends on where it starts and on everything that shapes its
    // sequence: the same seed in the same state (a fresh shop) is the same events, with the same ids.
    const options = {
      stores: stores.join(','),
      mix: formatMix(run.mix),
      refusals: run.refusalShare,
      rate: run.rate,
      heartbeatMs: heartbeatEveryMs,
      ttlMs,
      start: digestOf([catalogDigest(setup), ...[...levels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, units]) => `${key} ${units}`)]),
    };
    const faker = createFaker((runtime.seed + 1) % 2 ** 32);
    const customerIds = runtime.ids('simulate: customer', options);
    const model = createShopModel(
      { stores, customers: setup.customers, products: setup.products, levels },
      { mix: run.mix, refusalShare: run.refusalShare, heartbeatEveryMs, ttlMs, marginFor: (store) => rules.marginFor(store) },
      {
        random: seededRandom(runtime.seed),
        reservationId: runtime.ids('simulate: reservation', options),
        customer: () => generateCustomer(faker, 'en', customerIds()),
        product: (taken) => generateProduct(faker, config.generate.currency, taken),
      },
    );
    const ids = runtime.ids('simulate', options);
    const chunk = chunkForRate(run.rate);
    function* chunks(): Generator<ShopEvent[]> {
      let made = 0;
      const started = Date.now();
      for (;;) {
        // Behind the rate (a path slower per write than the pace asks), a chunk takes what is due:
        // fewer, larger writes catch up. The events are the same, only grouped otherwise.
        const due = Math.floor(((Date.now() - started) * run.rate) / 1000) - made;
        const size = Math.min(1000, Math.max(chunk, due));
        const events: ShopEvent[] = [];
        while (events.length < size) {
          // Simulated time runs with the events made, at the rate: the same seed is the same
          // sequence however fast the path takes it (the pump keeps the two close).
          for (const { draft, note } of model.next((made * 1000) / run.rate, runtime.now())) {
            const event = toEvent(runtime, draft, ids);
            if (note) notes.set(event, note);
            events.push(event);
            made += 1;
          }
        }
        yield events;
      }
    }
    const result = await pump(chunks(), sink, {
      rate: run.rate,
      signal: run.signal,
      onProgress: (_count, elapsedMs) => run.onProgress?.(totals, elapsedMs),
    });
    return { via: run.via, rate: run.rate, mix: formatMix(run.mix), refusalShare: run.refusalShare, ...start, ...totals, elapsedMs: result.elapsedMs };
  } catch (error) {
    throw explainWriteFailure(error, config, { via: run.via, written: written + totals.events, repeatable: false, rerun: 'start the simulation again' });
  }
}

function toEvent(runtime: Runtime, draft: Draft, ids: () => string): ShopEvent {
  // A reservation's events take ids derived from its id, as `reserve` and the API give them.
  const id =
    draft.type === 'shop.reservation.requested.v1'
      ? reservationEventId('requested', draft.data.reservationId)
      : draft.type === 'shop.reservation.fulfilled.v1'
        ? reservationEventId('fulfilled', draft.data.reservationId)
        : draft.type === 'shop.reservation.cancelled.v1'
          ? reservationEventId('cancelled', draft.data.reservationId)
          : ids();
  return envelopeOf(draft.type, draft.data as never, eventContext(runtime, id)) as ShopEvent;
}

/** A sink over the process's writer that counts what it wrote, by kind, and keeps nothing else (it may run for days). */
function countingSink(writer: EventWriter, target: string, totals: SimulationTotals, notes: Map<ShopEvent, DraftNote>): EventSink {
  const sinkTotals: SinkTotals = { written: 0, duplicates: 0, rejected: [], conflicts: [] };
  return {
    via: writer.via,
    target,
    async write(chunk) {
      if ('messages' in chunk) throw new Error('simulate writes events, not encoded messages');
      const outcomes = await writer.write(chunk);
      chunk.forEach((event, index) => {
        const outcome = outcomes[index];
        const kind = KIND_OF[event.type];
        if (kind) totals.byKind[kind] += 1;
        totals.events += 1;
        const note = notes.get(event);
        if (note) {
          notes.delete(event);
          if (note === 'refusal') totals.meantToBeRefused += 1;
          else totals.leftToExpire += 1;
        }
        if (outcome?.status === 'duplicate') totals.duplicates += 1;
        else if (outcome?.status === 'rejected') totals.refused[outcome.reason] = (totals.refused[outcome.reason] ?? 0) + 1;
      });
      sinkTotals.written = totals.events;
    },
    totals: () => sinkTotals,
    close: () => Promise.resolve(),
  };
}

interface StartingShop {
  customers: string[];
  products: CatalogEntry[];
  events: ShopEvent[];
  made: { customers: number; products: number; restocks: number };
}

/**
 * The shop the simulation starts from: what MongoDB has, and, when it has no customers or no
 * products, a small starting catalogue; every simulated store without any stock of the
 * catalogue receives opening stock of each product. `levels` is updated with what is received.
 */
export function startingShop(
  runtime: Runtime,
  stores: readonly string[],
  found: { customers: string[]; products: CatalogEntry[] },
  levels: Map<string, number>,
  currency: string,
): StartingShop {
  const faker = createFaker(runtime.seed);
  const random = seededRandom((runtime.seed ^ 0x5eed) >>> 0);
  const events: ShopEvent[] = [];
  const made = { customers: 0, products: 0, restocks: 0 };
  const customers = [...found.customers];
  const products = [...found.products];
  const scope = { stores: stores.join(','), currency, catalog: catalogDigest(found) };
  const ids = runtime.ids('simulate: setup', scope);
  if (customers.length === 0) {
    const customerIds = runtime.ids('simulate: setup customer', scope);
    for (let i = 0; i < STARTING_CUSTOMERS; i += 1) {
      const data = generateCustomer(faker, 'en', customerIds());
      customers.push(data.customerId);
      events.push(envelopeOf('shop.customer.registered.v1', data, eventContext(runtime, ids())));
      made.customers += 1;
    }
  }
  if (products.length === 0) {
    const taken = new Set<string>();
    for (let i = 0; i < STARTING_PRODUCTS; i += 1) {
      const data = generateProduct(faker, currency, taken);
      products.push({ sku: data.sku, price: data.price });
      events.push(envelopeOf('shop.product.added.v1', data, eventContext(runtime, ids())));
      made.products += 1;
    }
  }
  for (const store of stores) {
    if (products.some(({ sku }) => (levels.get(stockKey(store, sku)) ?? 0) > 0)) continue;
    for (const { sku } of products) {
      const quantity = 50 + Math.floor(random() * 51);
      levels.set(stockKey(store, sku), quantity);
      events.push(envelopeOf('shop.stock.received.v1', { store, sku, quantity }, eventContext(runtime, ids())));
      made.restocks += 1;
    }
  }
  return { customers, products, events, made };
}
