import { createHash } from 'node:crypto';
import { availableToPromise, DEFAULT_RULES, freshnessOf, formatDuration, instantOf, marginUnits, reservationEventId, type AvailabilityRules } from './availability.js';
import { maxLevelOf } from './documents.js';
import type {
  AnyDoc,
  CollectionName,
  CustomerDoc,
  DocsByCollection,
  PositionDoc,
  JournalEntry,
  ProductDoc,
  PurchaseDoc,
  ReservationDoc,
  ReservationReason,
  ReservationStatus,
  StockDoc,
  StockEffect,
} from './documents.js';
import { stockKey, type ReservationDecided, type ReservationEvent, type ReservationRequested, type ReservationStep, type ShopEvent, type StockEvent, type StoreDefined, type StoreHeartbeat } from './events.js';
import { multiply } from './money.js';

// The projection as pure functions: which documents an event touches, whether it may be applied,
// how each document evolves, and which journal entries record it. The projection service loads
// the documents and the journal, calls `projectBatch`, and writes back what changed. No I/O, no
// clock, no randomness here.

/** Where an event sits in its source (Kafka topic-partition and offset). Absent on the db path. */
export interface Position {
  key: string;
  offset: number;
}

export const positionLabel = (position: Position | undefined): string | null =>
  position ? `${position.key}@${position.offset}` : null;

export interface ProjectionInput {
  event: ShopEvent;
  position?: Position | undefined;
}

export type RejectReason = 'unknown_reference' | 'insufficient_stock' | 'id_conflict';

/** What applying a reservation's event did to it: its status after, and whether it changed. */
export interface ReservationEffect {
  id: string;
  status: ReservationStatus;
  changed: boolean;
  reason?: ReservationReason;
  message?: string;
}

export type Outcome =
  // unchanged: a heartbeat older than the one kept (no effect, nothing recorded).
  | { status: 'applied'; stock?: StockEffect; reservation?: ReservationEffect; unchanged?: true }
  | { status: 'duplicate' }
  | { status: 'rejected'; reason: RejectReason; message: string };

export interface DocRef {
  collection: CollectionName;
  id: string;
}

export interface Change {
  collection: CollectionName;
  doc: AnyDoc;
  /** The _rev the stored document had when loaded (0: it did not exist). */
  expectedRev: number;
}

export const docKey = (ref: DocRef): string => `${ref.collection}/${ref.id}`;

/** The documents of one batch: loaded once, evolved in memory, written once. */
export class Snapshot {
  private readonly docs = new Map<string, AnyDoc | null>();
  private readonly loadedRevs = new Map<string, number>();
  private readonly dirty = new Set<string>();

  /** Registers a document as it is stored (null: it does not exist). */
  load(collection: CollectionName, id: string, doc: AnyDoc | null): void {
    const key = docKey({ collection, id });
    this.docs.set(key, doc);
    this.loadedRevs.set(key, doc?._rev ?? 0);
  }

  has(collection: CollectionName, id: string): boolean {
    return this.docs.has(docKey({ collection, id }));
  }

  get<C extends CollectionName>(collection: C, id: string): DocsByCollection[C] | null {
    const key = docKey({ collection, id });
    if (!this.docs.has(key)) throw new Error(`projector: ${collection}/${id} was not loaded`);
    return (this.docs.get(key) ?? null) as DocsByCollection[C] | null;
  }

  set<C extends CollectionName>(collection: C, doc: DocsByCollection[C]): void {
    const key = docKey({ collection, id: doc._id });
    this.docs.set(key, doc);
    this.dirty.add(key);
  }

  changes(): Change[] {
    return [...this.dirty].map((key) => {
      const doc = this.docs.get(key) as AnyDoc;
      const collection = key.slice(0, key.indexOf('/')) as CollectionName;
      return { collection, doc, expectedRev: this.loadedRevs.get(key) ?? 0 };
    });
  }
}

/** The documents an event reads (to decide) or changes; they are loaded before projecting. */
export function refsOf(event: ShopEvent): DocRef[] {
  switch (event.type) {
    case 'shop.purchase.made.v1':
      return [{ collection: 'customers', id: event.data.customerId }, { collection: 'products', id: event.data.sku }, ...writesOf(event)];
    case 'shop.reservation.requested.v1':
      // Whether the SKU exists, and whether the store was heard from lately, decide it too.
      return [{ collection: 'products', id: event.data.sku }, { collection: 'stores', id: event.data.store }, ...writesOf(event)];
    case 'shop.reservation.decided.v1':
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1':
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
    case 'shop.customer.registered.v1':
    case 'shop.product.added.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
      return writesOf(event);
    default:
      return assertNever(event);
  }
}

/**
 * The evolving documents an event changes. A purchase changes the stock document of its store and
 * SKU only (level and sales there); what a customer owns and what a product sold are derived when
 * read. So every document a stock event changes has one key that orders it (the Kafka key), and
 * one writer at a time. A reservation's events change the reservation and the stock document of
 * its store and SKU (the hold): they are ordered by the store on their own topic, and share the
 * stock document with that store's stock events through the leases.
 */
export function writesOf(event: ShopEvent): DocRef[] {
  switch (event.type) {
    case 'shop.customer.registered.v1':
      return [{ collection: 'customers', id: event.data.customerId }];
    case 'shop.product.added.v1':
      return [{ collection: 'products', id: event.data.sku }];
    case 'shop.purchase.made.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
      return [
        { collection: 'stock', id: stockKey(event.data.store, event.data.sku) },
        { collection: 'positions', id: event.data.sku },
      ];
    case 'shop.reservation.requested.v1':
    case 'shop.reservation.decided.v1':
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1':
      return [
        { collection: 'reservations', id: event.data.reservationId },
        { collection: 'stock', id: stockKey(event.data.store, event.data.sku) },
        { collection: 'positions', id: event.data.sku },
      ];
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
      return [{ collection: 'stores', id: event.data.store }];
    default:
      return assertNever(event);
  }
}

/**
 * What makes two events with one id the same event: type, subject and data. Not the time or the
 * source: a re-run of a seeded command at another time sends the same events again.
 */
export function fingerprintOf(event: ShopEvent): string {
  return createHash('sha256')
    .update(canonical({ type: event.type, subject: event.subject, data: identifyingData(event) }))
    .digest('base64url')
    .slice(0, 22);
}

// A reservation request sent again (a retried `reserve --id X`) is the same request when it asks
// for the same units: its expiry is computed from the clock at sending, and --allow-stale is how
// it was sent, not what it asks for. The first one decides; a repeat is a duplicate, not a conflict.
function identifyingData(event: ShopEvent): unknown {
  if (event.type !== 'shop.reservation.requested.v1') return event.data;
  const { expiresAt: _expiresAt, allowStale: _allowStale, ...asked } = event.data;
  return asked;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Projects a batch in order. `applied` maps the ids among these events that the journal already
 * holds to their fingerprints (null where unknown): such an event is a duplicate (no effect, whatever the stock is
 * now), or, when its content differs, refused as an id conflict. A duplicate is recognised before
 * any rule is asked.
 */
export function projectBatch(
  inputs: readonly ProjectionInput[],
  snapshot: Snapshot,
  applied: ReadonlyMap<string, string | null>,
  rules: AvailabilityRules = DEFAULT_RULES,
): Outcome[] {
  const seen = new Map(applied);
  return inputs.map(({ event }) => {
    const fingerprint = fingerprintOf(event);
    const earlier = seen.get(event.id);
    if (earlier !== undefined) {
      // null: journaled before fingerprints were kept; taken as the same event.
      if (earlier === null || earlier === fingerprint) return { status: 'duplicate' } as const;
      return {
        status: 'rejected',
        reason: 'id_conflict',
        message: `event id '${event.id}' was already applied with other content (${event.type}, ${event.subject})`,
      } as const;
    }
    const rejection = decide(event, snapshot);
    if (rejection) return rejection;
    seen.set(event.id, fingerprint);
    // The SKU's position follows its stock document when this event changed it (its level or
    // holds), in the same fold: so in the same write, effectively once with it.
    const stocked = stockRefOf(event);
    const before = stocked ? snapshot.get('stock', stockKey(stocked.store, stocked.sku)) : null;
    const outcome = applyEvent(event, snapshot, rules);
    if (stocked && snapshot.get('stock', stockKey(stocked.store, stocked.sku)) !== before) syncPosition(snapshot, stocked.store, stocked.sku, event.time);
    return outcome;
  });
}

function applyEvent(event: ShopEvent, snapshot: Snapshot, rules: AvailabilityRules): Outcome {
  if (isReservationEvent(event)) return applyReservation(event, snapshot, rules);
  if (event.type === 'shop.store.heartbeat.v1') return applyHeartbeat(event, snapshot) ? { status: 'applied' } : { status: 'applied', unchanged: true };
  if (event.type === 'shop.store.defined.v1') {
    applyStoreDefinition(event, snapshot);
    return { status: 'applied' };
  }
  for (const ref of writesOf(event)) applyTo(ref, event, snapshot);
  const stock = stockEffect(event, snapshot);
  return stock ? { status: 'applied', stock } : { status: 'applied' };
}

/** The store and SKU whose stock document an event may change (its level or its holds). */
function stockRefOf(event: ShopEvent): { store: string; sku: string } | null {
  switch (event.type) {
    case 'shop.purchase.made.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
    case 'shop.reservation.requested.v1':
    case 'shop.reservation.decided.v1':
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1':
      return { store: event.data.store, sku: event.data.sku };
    case 'shop.customer.registered.v1':
    case 'shop.product.added.v1':
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
      return null;
    default:
      return assertNever(event);
  }
}

/**
 * Brings the SKU's position in line with one store's stock document as it now stands: that
 * store's part is set to its level and holds (absolute values, so a document written before
 * positions were kept joins the sums with all it has), the sums follow, and the running maximum
 * of the summed on-hand takes the new sum. Nothing changes (no write) when the part is as it was.
 */
export function syncPosition(snapshot: Snapshot, store: string, sku: string, time: string): void {
  const stock = snapshot.get('stock', stockKey(store, sku));
  if (!stock) return;
  const current = snapshot.get('positions', sku);
  const part = { store, level: stock.level, pending: stock.pending ?? 0 };
  const before = current?.parts.find((p) => p.store === store);
  if (before && before.level === part.level && before.pending === part.pending) return;
  const parts = current ? current.parts.filter((p) => p.store !== store) : [];
  parts.push(part);
  parts.sort((a, b) => (a.store < b.store ? -1 : a.store > b.store ? 1 : 0));
  snapshot.set('positions', evolvePosition(current, sku, parts, time));
}

/** A SKU's position with these parts: the sums over them, the running maximum, one more revision. */
export function evolvePosition(current: PositionDoc | null, sku: string, parts: PositionDoc['parts'], time: string): PositionDoc {
  const onHand = parts.reduce((sum, p) => sum + p.level, 0);
  const pending = parts.reduce((sum, p) => sum + p.pending, 0);
  return {
    ...(current ?? {}),
    _id: sku,
    _rev: (current?._rev ?? 0) + 1,
    sku,
    onHand,
    pending,
    maxOnHand: Math.max(current?.maxOnHand ?? 0, onHand),
    parts,
    updatedAt: current && current.updatedAt > time ? current.updatedAt : time,
  };
}

/** Where an applied event is journaled: in the document it creates (a purchase), else in the journal. */
export type Entry = { collection: 'journal'; doc: JournalEntry } | { collection: 'purchases'; doc: PurchaseDoc };

/** The journal entries of the applied events: `at` is the writer's clock, `intent` the write's id. */
export function entriesOf(inputs: readonly ProjectionInput[], outcomes: readonly Outcome[], at: string, intent: string): Entry[] {
  const entries: Entry[] = [];
  inputs.forEach(({ event, position }, index) => {
    const outcome = outcomes[index];
    if (!outcome || outcome.status !== 'applied' || !isRecorded(outcome)) return;
    // A heartbeat is not journaled: applying one again changes nothing (the newest time is kept),
    // and a store's heartbeats every few seconds would fill the journal.
    if (event.type === 'shop.store.heartbeat.v1') return;
    const common = { pos: positionLabel(position), ...(outcome.stock ? { stock: outcome.stock } : {}), applied: { at, n: index }, h: fingerprintOf(event), intent };
    if (event.type === 'shop.purchase.made.v1') {
      entries.push({ collection: 'purchases', doc: { ...purchaseOf(event), ...common } });
      return;
    }
    entries.push({ collection: 'journal', doc: { _id: event.id, type: event.type, subject: event.subject, time: event.time, ...common } });
  });
  return entries;
}

// What an applied event did to a stock level, for the journal (the stock history).
function stockEffect(event: Exclude<ShopEvent, ReservationEvent | StoreHeartbeat | StoreDefined>, snapshot: Snapshot): StockEffect | undefined {
  if (event.type === 'shop.customer.registered.v1' || event.type === 'shop.product.added.v1') return undefined;
  const { store, sku } = event.data;
  const level = snapshot.get('stock', stockKey(store, sku))?.level ?? 0;
  const change =
    event.type === 'shop.stock.counted.v1'
      ? event.data.level
      : event.type === 'shop.stock.received.v1'
        ? event.data.quantity
        : -event.data.quantity;
  return { store, sku, change, level };
}

function decide(event: ShopEvent, snapshot: Snapshot): Outcome | null {
  switch (event.type) {
    case 'shop.customer.registered.v1':
    case 'shop.product.added.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.counted.v1':
      return null;
    case 'shop.purchase.made.v1': {
      const missing: string[] = [];
      if (!snapshot.get('customers', event.data.customerId)) missing.push(`customer '${event.data.customerId}'`);
      if (!snapshot.get('products', event.data.sku)) missing.push(`product '${event.data.sku}'`);
      if (missing.length > 0) return { status: 'rejected', reason: 'unknown_reference', message: `unknown ${missing.join(' and ')}` };
      return checkStock(event, snapshot);
    }
    case 'shop.stock.sold.v1':
      return checkStock(event, snapshot);
    case 'shop.reservation.requested.v1':
    case 'shop.reservation.decided.v1':
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
      // A request is always applied: the store's decision (confirmed or rejected, with a reason)
      // is its effect, recorded in the reservation, not a refusal of the event.
      return null;
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1': {
      const reservation = snapshot.get('reservations', event.data.reservationId);
      if (!reservation) return { status: 'rejected', reason: 'unknown_reference', message: `unknown reservation '${event.data.reservationId}'` };
      if (reservation.store !== event.data.store || reservation.sku !== event.data.sku) {
        return {
          status: 'rejected',
          reason: 'unknown_reference',
          message: `reservation '${reservation._id}' is for store '${reservation.store}', SKU '${reservation.sku}', not store '${event.data.store}', SKU '${event.data.sku}'`,
        };
      }
      return null;
    }
    default:
      return assertNever(event);
  }
}

const isReservationEvent = (event: ShopEvent): event is ReservationEvent =>
  event.type === 'shop.reservation.requested.v1' ||
  event.type === 'shop.reservation.decided.v1' ||
  event.type === 'shop.reservation.fulfilled.v1' ||
  event.type === 'shop.reservation.cancelled.v1' ||
  event.type === 'shop.reservation.expired.v1';

// A reservation's events: the request is decided by the store's available-to-promise and
// freshness at the request's time; fulfilment takes the units (or fails when the shop floor sold
// them first); cancelling and expiring release the hold. A step that finds the reservation
// closed already changes nothing (it says so in its effect).
function applyReservation(event: ReservationEvent, snapshot: Snapshot, rules: AvailabilityRules): Outcome {
  const key = stockKey(event.data.store, event.data.sku);
  const stock = snapshot.get('stock', key);
  const current = snapshot.get('reservations', event.data.reservationId);
  if (event.type === 'shop.reservation.requested.v1') {
    if (current) return { status: 'applied', reservation: effectOf(current, false) };
    const decision = decideRequest(event, snapshot, rules);
    const reservation: ReservationDoc = {
      _id: event.data.reservationId,
      _rev: 1,
      customerId: event.data.customerId,
      store: event.data.store,
      sku: event.data.sku,
      quantity: event.data.quantity,
      status: decision ? 'rejected' : 'confirmed',
      ...(decision ?? {}),
      requestedAt: event.time,
      expiresAt: event.data.expiresAt,
      updatedAt: event.time,
    };
    snapshot.set('reservations', reservation);
    if (!decision) snapshot.set('stock', withPending(stock ?? emptyStock(event.data.store, event.data.sku, event.time), event.data.quantity, event.time));
    return { status: 'applied', reservation: effectOf(reservation, true) };
  }
  if (event.type === 'shop.reservation.decided.v1') {
    // Decided here already (this projection is the store side that decided it), or applied before.
    if (current) return { status: 'duplicate' };
    const { reservationId, status, reason, message, ...asked } = event.data;
    const reservation: ReservationDoc = {
      _id: reservationId,
      _rev: 1,
      ...asked,
      status,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      requestedAt: event.time,
      updatedAt: event.time,
    };
    snapshot.set('reservations', reservation);
    if (status === 'confirmed') snapshot.set('stock', withPending(stock ?? emptyStock(asked.store, asked.sku, event.time), asked.quantity, event.time));
    return { status: 'applied', reservation: effectOf(reservation, true) };
  }
  const reservation = current as ReservationDoc; // decide() refused the step of an unknown one
  // The goods were handed over before the hold expired, but an expiry got here first (a sweep on
  // the db path overtook a fulfilment sent through Kafka): the fulfilment still takes the units
  // when they are there (the hold is released already), or fails.
  if (reservation.status === 'expired' && event.type === 'shop.reservation.fulfilled.v1' && instantOf(event.time) < instantOf(reservation.expiresAt)) {
    return fulfil(reservation, stock ?? emptyStock(reservation.store, reservation.sku, event.time), event.time, snapshot, false);
  }
  if (reservation.status !== 'confirmed' || (event.type === 'shop.reservation.expired.v1' && instantOf(event.time) < instantOf(reservation.expiresAt))) {
    return { status: 'applied', reservation: effectOf(reservation, false) };
  }
  const held = stock ?? emptyStock(reservation.store, reservation.sku, event.time);
  if (event.type === 'shop.reservation.fulfilled.v1') return fulfil(reservation, held, event.time, snapshot, true);
  snapshot.set('stock', withPending(held, -reservation.quantity, event.time));
  const next = closed(reservation, event.type === 'shop.reservation.cancelled.v1' ? 'cancelled' : 'expired', event.time);
  snapshot.set('reservations', next);
  return { status: 'applied', reservation: effectOf(next, true) };
}

// The goods leave the store: the level goes down by the reservation's quantity (and its hold is
// released, when it still holds), or, when the shop floor sold them meanwhile, the reservation
// fails and the level is left as it is: never below zero.
function fulfil(reservation: ReservationDoc, held: StockDoc, time: string, snapshot: Snapshot, holding: boolean): Outcome {
  const released = holding ? withPending(held, -reservation.quantity, time) : { ...held, _rev: held._rev + 1 };
  if (held.level >= reservation.quantity) {
    const level = held.level - reservation.quantity;
    // The level changed: its time is the newest event time, as for any other stock change.
    const updatedAt = instantOf(held.updatedAt) > instantOf(time) ? held.updatedAt : time;
    snapshot.set('stock', { ...released, level, updatedAt });
    const next = closed(reservation, 'fulfilled', time);
    snapshot.set('reservations', next);
    return { status: 'applied', reservation: effectOf(next, true), stock: { store: reservation.store, sku: reservation.sku, change: -reservation.quantity, level } };
  }
  if (holding) snapshot.set('stock', released);
  const next: ReservationDoc = {
    ...closed(reservation, 'failed', time),
    reason: 'insufficient_stock',
    message: `store '${reservation.store}', SKU '${reservation.sku}': ${reservation.quantity} reserved, ${held.level} on hand (sold on the shop floor meanwhile)`,
  };
  snapshot.set('reservations', next);
  return { status: 'applied', reservation: effectOf(next, true) };
}

function decideRequest(event: ReservationRequested, snapshot: Snapshot, rules: AvailabilityRules): Pick<ReservationDoc, 'reason' | 'message'> | null {
  const { store, sku, quantity } = event.data;
  if (!snapshot.get('products', sku)) return { reason: 'unknown_sku', message: `no product with SKU '${sku}'` };
  const heard = freshnessOf(snapshot.get('stores', store)?.lastHeartbeat, new Date(event.time), rules.staleAfterMs);
  if (heard.state === 'stale' && event.data.allowStale !== true) {
    return {
      reason: 'store_stale',
      message: `store '${store}' was last heard from ${formatDuration(heard.ageMs ?? 0)} before the request (stale after ${formatDuration(rules.staleAfterMs)})`,
    };
  }
  const stock = snapshot.get('stock', stockKey(store, sku));
  const level = stock?.level ?? 0;
  const pending = stock?.pending ?? 0;
  const margin = rules.marginFor(store);
  const available = availableToPromise(level, pending, margin);
  if (quantity <= available) return null;
  return {
    reason: 'insufficient_stock',
    message: `store '${store}', SKU '${sku}': requested ${quantity}, available to promise ${available} (on hand ${level}, held ${pending}, safety margin ${marginUnits(margin, level)})`,
  };
}

const effectOf = (doc: ReservationDoc, changed: boolean): ReservationEffect => ({
  id: doc._id,
  status: doc.status,
  changed,
  ...(doc.reason ? { reason: doc.reason } : {}),
  ...(doc.message ? { message: doc.message } : {}),
});

const closed = (doc: ReservationDoc, status: ReservationStatus, time: string): ReservationDoc => ({ ...doc, _rev: doc._rev + 1, status, updatedAt: time });

const emptyStock = (store: string, sku: string, time: string): StockDoc => ({ _id: stockKey(store, sku), _rev: 0, store, sku, level: 0, updatedAt: time });

// The hold changes; the level does not (nor its time: updatedAt is the last level change).
function withPending(stock: StockDoc, change: number, _time: string): StockDoc {
  return { ...stock, _rev: stock._rev + 1, pending: Math.max(0, (stock.pending ?? 0) + change) };
}

// The newest heartbeat is kept: an older one (a repeat, or one overtaken) changes nothing.
// The rest of the store document (its capacity and location) is kept.
function applyHeartbeat(event: StoreHeartbeat, snapshot: Snapshot): boolean {
  const current = snapshot.get('stores', event.data.store);
  if (current?.lastHeartbeat !== undefined && instantOf(current.lastHeartbeat) >= instantOf(event.time)) return false;
  snapshot.set('stores', { ...(current ?? {}), _id: event.data.store, _rev: (current?._rev ?? 0) + 1, lastHeartbeat: event.time });
  return true;
}

// A definition sets the fields it names and keeps the others (and the store's heartbeat).
function applyStoreDefinition(event: StoreDefined, snapshot: Snapshot): void {
  const current = snapshot.get('stores', event.data.store);
  const { store, ...fields } = event.data;
  const named = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  const definedAt = current?.definedAt !== undefined && current.definedAt > event.time ? current.definedAt : event.time;
  snapshot.set('stores', { ...(current ?? {}), ...named, _id: store, _rev: (current?._rev ?? 0) + 1, definedAt });
}

/**
 * Whether an applied event is recorded (journaled, and put in the outbox): not when it changed
 * nothing. A reservation step that found the reservation closed, or an expiry that came before
 * the reservation's time, leaves no trace, so the real one (same id) can still come and apply;
 * a heartbeat older than the one kept is dropped.
 */
export function isRecorded(outcome: Outcome | undefined): boolean {
  if (outcome?.status !== 'applied') return false;
  if (outcome.unchanged) return false;
  return outcome.reservation?.changed !== false;
}

export type { ReservationStep };

/**
 * The store's decision on a request it applied, as an event for the central view and every other
 * consumer (see ReservationDecided): null when the request decided nothing new (a repeat).
 * Deterministic: its id comes from the reservation id and its time is the request's.
 */
export function decisionOf(request: ReservationRequested, outcome: Outcome | undefined): ReservationDecided | null {
  if (outcome?.status !== 'applied' || !outcome.reservation?.changed) return null;
  const { status, reason, message } = outcome.reservation;
  if (status !== 'confirmed' && status !== 'rejected') return null;
  return decisionEvent(request, status, reason, message);
}

/**
 * The decision on a request applied before (a redelivery after a crash that came before its
 * decision was sent): taken from the reservation as stored. Whatever it became since, it was
 * confirmed unless it was rejected.
 */
export function decisionFromStored(request: ReservationRequested, stored: ReservationDoc | null): ReservationDecided | null {
  if (!stored || stored.customerId !== request.data.customerId || stored.quantity !== request.data.quantity) return null;
  return stored.status === 'rejected' ? decisionEvent(request, 'rejected', stored.reason, stored.message) : decisionEvent(request, 'confirmed');
}

function decisionEvent(request: ReservationRequested, status: 'confirmed' | 'rejected', reason?: ReservationReason, message?: string): ReservationDecided {
  const { allowStale: _allowStale, ...asked } = request.data;
  return {
    specversion: '1.0',
    id: reservationEventId('decided', request.data.reservationId),
    type: 'shop.reservation.decided.v1',
    source: request.source,
    time: request.time,
    subject: request.subject,
    data: { ...asked, status, ...(reason ? { reason } : {}), ...(message ? { message: message.slice(0, 1000) } : {}) },
  };
}

// Stock never goes below zero: a purchase or sale of more than is there is not applied.
function checkStock(event: Extract<ShopEvent, { data: { quantity: number; store: string } }>, snapshot: Snapshot): Outcome | null {
  const { store, sku, quantity } = event.data;
  const available = snapshot.get('stock', stockKey(store, sku))?.level ?? 0;
  if (available >= quantity) return null;
  return {
    status: 'rejected',
    reason: 'insufficient_stock',
    message: `store '${store}', SKU '${sku}': requested ${quantity}, available ${available}`,
  };
}

function applyTo(ref: DocRef, event: ShopEvent, snapshot: Snapshot): void {
  switch (ref.collection) {
    case 'customers': {
      const next = evolveCustomer(snapshot.get('customers', ref.id), event);
      if (next) snapshot.set('customers', { ...next, _rev: next._rev + 1 });
      return;
    }
    case 'products': {
      const next = evolveProduct(snapshot.get('products', ref.id), event);
      if (next) snapshot.set('products', { ...next, _rev: next._rev + 1 });
      return;
    }
    case 'stock': {
      const next = evolveStock(snapshot.get('stock', ref.id), event);
      if (next) snapshot.set('stock', { ...next, _rev: next._rev + 1 });
      return;
    }
    case 'reservations':
    case 'stores':
    case 'positions':
      return; // applied by applyReservation, applyHeartbeat, applyStoreDefinition and syncPosition
    default:
      assertNever(ref.collection);
  }
}

export function purchaseOf(event: Extract<ShopEvent, { type: 'shop.purchase.made.v1' }>): PurchaseDoc {
  return {
    _id: event.id,
    customerId: event.data.customerId,
    sku: event.data.sku,
    store: event.data.store,
    quantity: event.data.quantity,
    unitPrice: event.data.unitPrice,
    total: multiply(event.data.unitPrice, event.data.quantity),
    time: event.time,
  };
}

export function evolveCustomer(doc: CustomerDoc | null, event: ShopEvent): CustomerDoc | null {
  switch (event.type) {
    case 'shop.customer.registered.v1': {
      const { customerId, ...profile } = event.data;
      return { _id: customerId, _rev: doc?._rev ?? 0, ...profile, registeredAt: doc?.registeredAt ?? event.time };
    }
    case 'shop.purchase.made.v1':
    case 'shop.product.added.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
    case 'shop.reservation.requested.v1':
    case 'shop.reservation.decided.v1':
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1':
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
      return doc;
    default:
      return assertNever(event);
  }
}

export function evolveProduct(doc: ProductDoc | null, event: ShopEvent): ProductDoc | null {
  switch (event.type) {
    case 'shop.product.added.v1': {
      const { sku, ...product } = event.data;
      return { _id: sku, _rev: doc?._rev ?? 0, ...product, addedAt: doc?.addedAt ?? event.time };
    }
    case 'shop.purchase.made.v1':
    case 'shop.customer.registered.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
    case 'shop.reservation.requested.v1':
    case 'shop.reservation.decided.v1':
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1':
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
      return doc;
    default:
      return assertNever(event);
  }
}

export function evolveStock(doc: StockDoc | null, event: ShopEvent): StockDoc | null {
  switch (event.type) {
    case 'shop.customer.registered.v1':
    case 'shop.product.added.v1':
    case 'shop.reservation.requested.v1':
    case 'shop.reservation.decided.v1':
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1':
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
      return doc;
    case 'shop.purchase.made.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1': {
      const current: StockDoc = doc ?? {
        _id: stockKey(event.data.store, event.data.sku),
        _rev: 0,
        store: event.data.store,
        sku: event.data.sku,
        level: 0,
        updatedAt: event.time,
      };
      // The newest event time, not the last applied: a retried event may apply after a newer one.
      const updatedAt = current.updatedAt > event.time ? current.updatedAt : event.time;
      const level = nextLevel(current.level, event);
      // The running maximum, in the same evolve as the level: applied once with it.
      const next: StockDoc = { ...current, level, maxLevel: Math.max(maxLevelOf(current), level), updatedAt };
      if (event.type === 'shop.purchase.made.v1') {
        const line = multiply(event.data.unitPrice, event.data.quantity);
        const sold = current.sold ?? { quantity: 0, revenue: { amount: 0, currency: line.currency } };
        next.sold = { quantity: sold.quantity + event.data.quantity, revenue: { amount: sold.revenue.amount + line.amount, currency: sold.revenue.currency } };
      }
      return next;
    }
    default:
      return assertNever(event);
  }
}

function nextLevel(level: number, event: StockEvent | Extract<ShopEvent, { type: 'shop.purchase.made.v1' }>): number {
  switch (event.type) {
    case 'shop.stock.received.v1':
      return level + event.data.quantity;
    case 'shop.stock.counted.v1':
      return event.data.level;
    case 'shop.stock.sold.v1':
    case 'shop.purchase.made.v1':
      return level - event.data.quantity;
    default:
      return assertNever(event);
  }
}

export function assertNever(value: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(value)}`);
}
