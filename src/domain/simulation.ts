import { marginUnits, type Margin } from './availability.js';
import { stockKey, type Envelope, type EventType } from './events.js';
// Types only: the config schema imports this file, and every command reads the config (Faker stays unloaded).
import type { CatalogEntry, CustomerData, ProductData } from './generators.js';
import { MAX_PURCHASE_QUANTITY } from './limits.js';

// `shopctl simulate`, the pure part: the mix of what happens in the shop, the choice of the next
// thing from a seeded random source, and a running model of the stock of every store and SKU,
// so that purchases and sales ask for what is there (but for a configured share that is meant
// to be refused). No clock and no global randomness: the time and the random source come in.

export const SIMULATION_KINDS = ['purchases', 'restocks', 'counts', 'sales', 'reservations', 'registrations'] as const;
export type SimulationKind = (typeof SIMULATION_KINDS)[number];

/** How often each kind happens, relative to the others (weights; they need not add up to 100). */
export type Mix = Readonly<Record<SimulationKind, number>>;

export const DEFAULT_MIX: Mix = { purchases: 60, restocks: 10, counts: 5, sales: 10, reservations: 10, registrations: 5 };
export const MIX_RULE = `comma-separated kind=weight pairs, kinds ${SIMULATION_KINDS.join(', ')} (e.g. purchases=80,sales=20; a kind not named does not happen)`;
const MAX_WEIGHT = 1_000_000;

/** `purchases=60,restocks=10,…`: every kind not named is 0. A problem (text) when it is not a mix. */
export function parseMix(text: string): Mix | string {
  const mix: Record<SimulationKind, number> = { purchases: 0, restocks: 0, counts: 0, sales: 0, reservations: 0, registrations: 0 };
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) return `'${part.trim()}' is not kind=weight`;
    const [, kind = '', weight = ''] = match;
    if (!isKind(kind)) return `unknown kind '${kind}' (kinds: ${SIMULATION_KINDS.join(', ')})`;
    if (seen.has(kind)) return `'${kind}' is given twice`;
    seen.add(kind);
    mix[kind] = Number(weight);
  }
  return mixProblem(mix) ?? mix;
}

/** Why a mix cannot be drawn from (a weight out of range, or all zero), or null. */
export function mixProblem(mix: Mix): string | null {
  for (const kind of SIMULATION_KINDS) {
    const weight = mix[kind];
    if (!Number.isFinite(weight) || weight < 0 || weight > MAX_WEIGHT) return `the weight of ${kind} must be from 0 to ${MAX_WEIGHT.toLocaleString('en-US')}, got ${weight}`;
  }
  return SIMULATION_KINDS.some((kind) => mix[kind] > 0) ? null : 'every weight is 0: nothing would happen';
}

export const formatMix = (mix: Mix): string => SIMULATION_KINDS.map((kind) => `${kind}=${mix[kind]}`).join(',');

const isKind = (value: string): value is SimulationKind => (SIMULATION_KINDS as readonly string[]).includes(value);

/** A random source: numbers from 0 (included) to 1 (excluded). */
export type Random = () => number;

/**
 * A small seeded generator (mulberry32): the same seed, the same numbers, on every platform.
 * Faker's own generator would do too, but is ~10x slower per draw and draws are the hot path.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The next kind, drawn by weight (one draw). */
export function chooseKind(mix: Mix, random: Random): SimulationKind {
  const total = SIMULATION_KINDS.reduce((sum, kind) => sum + mix[kind], 0);
  let draw = random() * total;
  for (const kind of SIMULATION_KINDS) {
    if (mix[kind] <= 0) continue;
    if (draw < mix[kind]) return kind;
    draw -= mix[kind];
  }
  // Rounding at the very end of the range: the last kind that happens at all.
  return [...SIMULATION_KINDS].reverse().find((kind) => mix[kind] > 0) ?? 'purchases';
}

const CITIES = ['berlin', 'paris', 'rome', 'madrid', 'vienna', 'lisbon', 'oslo', 'prague', 'dublin', 'warsaw', 'athens', 'zurich'];

/** The simulated stores: the same for the same count whatever the seed, so a restarted simulation keeps its stores. */
export function simulatedStores(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const city = CITIES[i % CITIES.length] as string;
    return i < CITIES.length ? city : `${city}-${Math.floor(i / CITIES.length) + 1}`;
  });
}

// ---------------------------------------------------------------------------------------------
// The running model

/** One event the simulation makes: type and data (the caller gives it an id and a time). */
export type Draft = { [T in EventType]: { type: T; data: Envelope<T>['data'] } }[EventType];

/** What a draft is, beyond its type: meant to be refused, or a reservation left to expire. */
export type DraftNote = 'refusal' | 'expire';

export interface Drafted {
  draft: Draft;
  note?: DraftNote;
}

export interface ModelStart {
  stores: readonly string[];
  customers: readonly string[];
  products: readonly CatalogEntry[];
  /** Units on hand per store and SKU (stockKey), where known; absent: 0. */
  levels: ReadonlyMap<string, number>;
}

export interface ModelSettings {
  mix: Mix;
  /** Share of purchases and sales meant to be refused (0 to 1). */
  refusalShare: number;
  heartbeatEveryMs: number;
  /** How long a reservation holds (availability.reservationTtl). */
  ttlMs: number;
  marginFor: (store: string) => Margin;
}

/** Where the randomness, the ids and new customers and products come from (all seeded by the caller). */
export interface ModelSources {
  random: Random;
  reservationId: () => string;
  /** A new customer (generators.generateCustomer with a seeded Faker). */
  customer: () => CustomerData;
  /** A new product whose SKU is not in `taken` (generators.generateProduct); adds it to `taken`. */
  product: (taken: Set<string>) => ProductData;
}

/** A shelf holds at most this many units of a SKU (or the most a store had when the simulation started). */
export const SHELF_UNITS = 100;

// What becomes of a reservation, in proportions like a click-and-collect shop's.
const FATES = [
  { fate: 'fulfilled', weight: 60 },
  { fate: 'cancelled', weight: 25 },
  { fate: 'expire', weight: 15 },
] as const;
type Fate = (typeof FATES)[number]['fate'];

interface OpenReservation {
  id: string;
  store: string;
  sku: string;
  quantity: number;
  fate: Fate;
  dueMs: number;
}

/**
 * The shop as the simulation believes it is. Every event it makes is applied to it at once, so
 * the next purchase or sale asks for units that are there: never more than the level less the
 * units held by reservations (which leave with their fulfilment, on another topic, in whatever
 * order the consumer meets them). On the Kafka path events of different topics may be applied
 * in another order than made, and an event the consumer retries (a purchase by a customer it
 * does not know yet) is applied after later ones of its key. Changes by a number commute; a
 * stock count (an absolute level) does not. So:
 * - a refusal asks for more than a shelf ever holds (SHELF_UNITS or the largest level at the
 *   start): retried by the consumer, it still cannot succeed and take units unknown here;
 * - each store+SKU pair has one role: `reserve` (click and collect: reservations, purchases,
 *   sales, deliveries), `buy` (purchases, sales, deliveries) or `count` (the shop floor's own:
 *   sales, deliveries and stock counts). Counts are taken only where nothing can be retried or
 *   fulfilled out of order (shop-floor sales name no customer or product that could be unknown).
 */
export type PairRole = 'reserve' | 'buy' | 'count';

export interface ShopModel {
  /** What happens next at simulated time `simMs` (ms since the start): due heartbeats and reservation steps, then one drawn event. */
  next(simMs: number, now: Date): Drafted[];
  /** Units on hand per store+SKU in the model. */
  levels(): Map<string, number>;
  /** Units held by open reservations per store+SKU. */
  held(): Map<string, number>;
  /** The most units a shelf holds: refusals ask for more. */
  readonly shelf: number;
  /** What happens to a store+SKU pair (see above). */
  role(store: string, sku: string): PairRole;
}

export function createShopModel(start: ModelStart, settings: ModelSettings, sources: ModelSources): ShopModel {
  const { random } = sources;
  const stores = [...start.stores];
  const customers = [...start.customers];
  const products = start.products.map((product) => ({ sku: product.sku, price: { ...product.price } }));
  const taken = new Set(products.map((product) => product.sku));
  const levels = new Map<string, number>();
  const held = new Map<string, number>();
  for (const store of stores) for (const { sku } of products) levels.set(stockKey(store, sku), start.levels.get(stockKey(store, sku)) ?? 0);
  let most = SHELF_UNITS;
  for (const units of levels.values()) most = Math.max(most, units);
  const shelf = Math.min(MAX_PURCHASE_QUANTITY - 20, most);
  // A third of the pairs each (by position: the same roles for the same catalogue).
  const ROLES: readonly PairRole[] = ['reserve', 'buy', 'count'];
  const roles = new Map<string, PairRole>();
  const assignRoles = (productIndex: number) =>
    stores.forEach((store, storeIndex) => roles.set(stockKey(store, products[productIndex]!.sku), ROLES[(productIndex + storeIndex) % 3]!));
  products.forEach((_, index) => assignRoles(index));
  const role = (store: string, sku: string): PairRole => roles.get(stockKey(store, sku)) ?? 'buy';

  const open: OpenReservation[] = []; // sorted by dueMs
  const nextBeat = new Map(stores.map((store) => [store, 0]));

  const int = (min: number, max: number) => min + Math.min(max - min, Math.floor(random() * (max - min + 1)));
  const pick = <T>(items: readonly T[]): T => items[Math.min(items.length - 1, Math.floor(random() * items.length))]!;
  const level = (key: string) => levels.get(key) ?? 0;
  const buyable = (key: string) => level(key) - (held.get(key) ?? 0);
  const change = (key: string, units: number) => levels.set(key, Math.max(0, level(key) + units));
  const hold = (key: string, units: number) => held.set(key, Math.max(0, (held.get(key) ?? 0) + units));

  /** A store+SKU pair that passes `fits`: a few random tries, then a scan from a random place. */
  const findPair = (fits: (store: string, sku: string) => boolean): { store: string; product: CatalogEntry } | null => {
    if (products.length === 0) return null;
    for (let tries = 0; tries < 8; tries += 1) {
      const store = pick(stores);
      const product = pick(products);
      if (fits(store, product.sku)) return { store, product };
    }
    const pairs = stores.length * products.length;
    const from = Math.floor(random() * pairs);
    for (let i = 0; i < pairs; i += 1) {
      const at = (from + i) % pairs;
      const store = stores[at % stores.length]!;
      const product = products[Math.floor(at / stores.length)]!;
      if (fits(store, product.sku)) return { store, product };
    }
    return null;
  };

  const refusal = (): boolean => settings.refusalShare > 0 && random() < settings.refusalShare;

  const purchase = (): Drafted | null => {
    if (customers.length === 0) return null;
    if (refusal()) {
      const store = pick(stores);
      const product = pick(products);
      const data = { customerId: pick(customers), sku: product.sku, store, quantity: shelf + int(1, 10), unitPrice: { ...product.price } };
      return { draft: { type: 'shop.purchase.made.v1', data }, note: 'refusal' };
    }
    const found = findPair((store, sku) => role(store, sku) !== 'count' && buyable(stockKey(store, sku)) >= 1);
    if (!found) return null;
    const key = stockKey(found.store, found.product.sku);
    const quantity = Math.min(buyable(key), int(1, 3));
    change(key, -quantity);
    const data = { customerId: pick(customers), sku: found.product.sku, store: found.store, quantity, unitPrice: { ...found.product.price } };
    return { draft: { type: 'shop.purchase.made.v1', data } };
  };

  const sale = (): Drafted | null => {
    if (refusal()) {
      const data = { store: pick(stores), sku: pick(products).sku, quantity: shelf + int(1, 10) };
      return products.length === 0 ? null : { draft: { type: 'shop.stock.sold.v1', data }, note: 'refusal' };
    }
    const found = findPair((store, sku) => buyable(stockKey(store, sku)) >= 1);
    if (!found) return null;
    const key = stockKey(found.store, found.product.sku);
    const quantity = Math.min(buyable(key), int(1, 5));
    change(key, -quantity);
    return { draft: { type: 'shop.stock.sold.v1', data: { store: found.store, sku: found.product.sku, quantity } } };
  };

  const restock = (): Drafted | null => {
    // The emptiest of a few shelves at one store is filled up to between half and all of a shelf.
    const store = pick(stores);
    let lowest: CatalogEntry | null = null;
    for (let tries = 0; tries < 3 && products.length > 0; tries += 1) {
      const product = pick(products);
      if (!lowest || level(stockKey(store, product.sku)) < level(stockKey(store, lowest.sku))) lowest = product;
    }
    const found = lowest && level(stockKey(store, lowest.sku)) < shelf ? { store, product: lowest } : findPair((s, sku) => level(stockKey(s, sku)) < shelf);
    if (!found) return null;
    const key = stockKey(found.store, found.product.sku);
    const quantity = Math.max(1, int(Math.ceil(shelf / 2), shelf) - level(key));
    const fitting = Math.min(quantity, shelf - level(key));
    change(key, fitting);
    return { draft: { type: 'shop.stock.received.v1', data: { store: found.store, sku: found.product.sku, quantity: fitting } } };
  };

  const count = (): Drafted | null => {
    const found = findPair((store, sku) => role(store, sku) === 'count');
    if (!found) return null;
    const key = stockKey(found.store, found.product.sku);
    // Mostly the shelf is as the books say; sometimes a unit or two went missing, rarely one turns up.
    const draw = random();
    const off = draw < 0.7 ? 0 : draw < 0.9 ? -1 : draw < 0.97 ? -2 : 1;
    const counted = Math.min(shelf, Math.max(0, level(key) + off));
    levels.set(key, counted);
    return { draft: { type: 'shop.stock.counted.v1', data: { store: found.store, sku: found.product.sku, level: counted } } };
  };

  const available = (store: string, sku: string): number => {
    const key = stockKey(store, sku);
    return buyable(key) - marginUnits(settings.marginFor(store), level(key));
  };

  const reserve = (simMs: number, now: Date): Drafted | null => {
    if (customers.length === 0) return null;
    const found = findPair((store, sku) => role(store, sku) === 'reserve' && available(store, sku) >= 1);
    if (!found) return null;
    const { store, product } = found;
    const quantity = Math.min(available(store, product.sku), int(1, 2));
    hold(stockKey(store, product.sku), quantity);
    let draw = random() * 100;
    const fate = FATES.find((entry) => (draw -= entry.weight) < 0)?.fate ?? 'fulfilled';
    // Collected or cancelled within a minute (at most half the hold); otherwise the hold runs out.
    const dueMs = simMs + (fate === 'expire' ? settings.ttlMs : int(2000, Math.max(2000, Math.min(60_000, Math.floor(settings.ttlMs / 2)))));
    const id = sources.reservationId();
    const entry: OpenReservation = { id, store, sku: product.sku, quantity, fate, dueMs };
    open.splice(insertionPoint(open, dueMs), 0, entry);
    const data = { reservationId: id, customerId: pick(customers), store, sku: product.sku, quantity, expiresAt: new Date(now.getTime() + settings.ttlMs).toISOString() };
    return { draft: { type: 'shop.reservation.requested.v1', data }, ...(fate === 'expire' ? { note: 'expire' as const } : {}) };
  };

  const register = (): Drafted[] => {
    // One registration in ten is a new product, received at every store; the rest are customers.
    if (random() >= 0.1 || products.length === 0) {
      const customer = sources.customer();
      customers.push(customer.customerId);
      return [{ draft: { type: 'shop.customer.registered.v1', data: customer } }];
    }
    const product = sources.product(taken);
    products.push({ sku: product.sku, price: { ...product.price } });
    assignRoles(products.length - 1);
    const drafts: Drafted[] = [{ draft: { type: 'shop.product.added.v1', data: product } }];
    for (const store of stores) {
      const quantity = int(Math.ceil(shelf / 2), shelf);
      levels.set(stockKey(store, product.sku), quantity);
      drafts.push({ draft: { type: 'shop.stock.received.v1', data: { store, sku: product.sku, quantity } } });
    }
    return drafts;
  };

  const drawn = (simMs: number, now: Date): Drafted[] => {
    const kind = chooseKind(settings.mix, random);
    const made = (() => {
      switch (kind) {
        case 'purchases':
          return purchase();
        case 'sales':
          return sale();
        case 'restocks':
          return restock();
        case 'counts':
          return count();
        case 'reservations':
          return reserve(simMs, now);
        case 'registrations':
          return register();
        default: {
          const unreachable: never = kind;
          return unreachable;
        }
      }
    })();
    if (Array.isArray(made)) return made;
    if (made) return [made];
    // What was drawn cannot happen now (nothing in stock, every shelf full, no customer yet):
    // the shop does what it can instead, in this order.
    const fallback = restock() ?? purchase() ?? sale();
    return fallback ? [fallback] : register();
  };

  return {
    shelf,
    role,
    levels: () => new Map(levels),
    held: () => new Map(held),
    next(simMs, now) {
      const out: Drafted[] = [];
      for (const store of stores) {
        const due = nextBeat.get(store) ?? 0;
        if (due <= simMs) {
          out.push({ draft: { type: 'shop.store.heartbeat.v1', data: { store } } });
          nextBeat.set(store, due + settings.heartbeatEveryMs * Math.max(1, Math.ceil((simMs - due + 1) / settings.heartbeatEveryMs)));
        }
      }
      while (open.length > 0 && open[0]!.dueMs <= simMs) {
        const due = open.shift()!;
        const key = stockKey(due.store, due.sku);
        hold(key, -due.quantity);
        // Left to expire: `consume` publishes the expiry; the model only releases the hold.
        if (due.fate === 'expire') continue;
        if (due.fate === 'fulfilled') change(key, -due.quantity);
        const type = due.fate === 'fulfilled' ? 'shop.reservation.fulfilled.v1' : 'shop.reservation.cancelled.v1';
        out.push({ draft: { type, data: { reservationId: due.id, store: due.store, sku: due.sku } } });
      }
      out.push(...drawn(simMs, now));
      return out;
    },
  };
}

function insertionPoint(open: readonly OpenReservation[], dueMs: number): number {
  let low = 0;
  let high = open.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (open[mid]!.dueMs <= dueMs) low = mid + 1;
    else high = mid;
  }
  return low;
}
