import { createHash } from 'node:crypto';
import type { AnyDoc, CollectionName, CustomerDoc, DocsByCollection, JournalEntry, ProductDoc, PurchaseDoc, StockDoc, StockEffect } from './documents.js';
import { stockKey, type ShopEvent, type StockEvent } from './events.js';
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

export type Outcome =
  | { status: 'applied'; stock?: StockEffect }
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
 * The evolving documents an event changes: exactly one for every event. A purchase changes the
 * stock document of its store and SKU only (level and sales there); what a customer owns and
 * what a product sold are derived when read. So every changed document has one key that orders
 * it (the Kafka key), and one writer at a time.
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
      return [{ collection: 'stock', id: stockKey(event.data.store, event.data.sku) }];
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
    .update(canonical({ type: event.type, subject: event.subject, data: event.data }))
    .digest('base64url')
    .slice(0, 22);
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
export function projectBatch(inputs: readonly ProjectionInput[], snapshot: Snapshot, applied: ReadonlyMap<string, string | null>): Outcome[] {
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
    for (const ref of writesOf(event)) applyTo(ref, event, snapshot);
    seen.set(event.id, fingerprint);
    const stock = stockEffect(event, snapshot);
    return stock ? { status: 'applied', stock } : { status: 'applied' };
  });
}

/** Where an applied event is journaled: in the document it creates (a purchase), else in the journal. */
export type Entry = { collection: 'journal'; doc: JournalEntry } | { collection: 'purchases'; doc: PurchaseDoc };

/** The journal entries of the applied events: `at` is the writer's clock, `intent` the write's id. */
export function entriesOf(inputs: readonly ProjectionInput[], outcomes: readonly Outcome[], at: string, intent: string): Entry[] {
  const entries: Entry[] = [];
  inputs.forEach(({ event, position }, index) => {
    const outcome = outcomes[index];
    if (outcome?.status !== 'applied') return;
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
function stockEffect(event: ShopEvent, snapshot: Snapshot): StockEffect | undefined {
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
    default:
      return assertNever(event);
  }
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
      return doc;
    default:
      return assertNever(event);
  }
}

export function evolveStock(doc: StockDoc | null, event: ShopEvent): StockDoc | null {
  switch (event.type) {
    case 'shop.customer.registered.v1':
    case 'shop.product.added.v1':
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
      const next: StockDoc = { ...current, level: nextLevel(current.level, event), updatedAt };
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
