import type { AnyDoc, CollectionName, Created, CustomerDoc, DocsByCollection, ProductDoc, PurchaseDoc, StockDoc, StockEffect } from './documents.js';
import { stockKey, type ShopEvent, type StockEvent } from './events.js';
import { multiply } from './money.js';

// The projection as pure functions: which documents an event touches, whether it may be applied,
// and how each document evolves. Storage adapters load the documents, call `projectBatch`, and
// write back what changed. No I/O, no clock, no randomness here.

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

export type RejectReason = 'unknown_reference' | 'insufficient_stock';

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

/** The documents of one batch: loaded once, evolved in memory, written once. */
export class Snapshot {
  private readonly docs = new Map<string, AnyDoc | null>();
  private readonly loadedRevs = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly created: Created[] = [];

  static key(collection: CollectionName, id: string): string {
    return `${collection}\u0000${id}`;
  }

  /** Registers a document as it is stored (null: it does not exist). */
  load(collection: CollectionName, id: string, doc: AnyDoc | null): void {
    const key = Snapshot.key(collection, id);
    this.docs.set(key, doc);
    this.loadedRevs.set(key, doc?._rev ?? 0);
  }

  has(collection: CollectionName, id: string): boolean {
    return this.docs.has(Snapshot.key(collection, id));
  }

  get<C extends CollectionName>(collection: C, id: string): DocsByCollection[C] | null {
    const key = Snapshot.key(collection, id);
    if (!this.docs.has(key)) throw new Error(`projector: ${collection}/${id} was not loaded`);
    return (this.docs.get(key) ?? null) as DocsByCollection[C] | null;
  }

  set<C extends CollectionName>(collection: C, doc: DocsByCollection[C]): void {
    const key = Snapshot.key(collection, doc._id);
    this.docs.set(key, doc);
    this.dirty.add(key);
  }

  create(created: Created): void {
    this.created.push(created);
  }

  changes(): Change[] {
    return [...this.dirty].map((key) => {
      const [collection] = key.split('\u0000') as [CollectionName];
      return { collection, doc: this.docs.get(key) as AnyDoc, expectedRev: this.loadedRevs.get(key) ?? 0 };
    });
  }

  creations(): readonly Created[] {
    return this.created;
  }
}

/** The documents an event reads (to decide) or changes; the adapter loads these before projecting. */
export function refsOf(event: ShopEvent): DocRef[] {
  switch (event.type) {
    case 'shop.purchase.made.v1':
      return [{ collection: 'customers', id: event.data.customerId }, ...writesOf(event)];
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
 * The evolving documents an event changes. A purchase does not change its customer: what a
 * customer owns is derived from the purchases when read, which keeps the hot path to one small
 * document per product (and, on FerretDB, every update costs a scan of its collection).
 */
export function writesOf(event: ShopEvent): DocRef[] {
  switch (event.type) {
    case 'shop.customer.registered.v1':
      return [{ collection: 'customers', id: event.data.customerId }];
    case 'shop.product.added.v1':
      return [{ collection: 'products', id: event.data.sku }];
    case 'shop.purchase.made.v1':
      return [
        { collection: 'products', id: event.data.sku },
        { collection: 'stock', id: stockKey(event.data.store, event.data.sku) },
      ];
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
      return [{ collection: 'stock', id: stockKey(event.data.store, event.data.sku) }];
    default:
      return assertNever(event);
  }
}

/**
 * Projects a batch in order. `excluded` holds the ids of events known to be duplicates (already
 * accepted from another position); a redelivered event is recognised per document by `_pos`.
 */
export function projectBatch(
  inputs: readonly ProjectionInput[],
  snapshot: Snapshot,
  excluded: ReadonlySet<string> = new Set(),
): Outcome[] {
  const seen = new Set<string>(excluded);
  return inputs.map(({ event, position }) => {
    if (seen.has(event.id)) return { status: 'duplicate' } as const;
    const refs = writesOf(event);
    const pending = refs.filter((ref) => !hasApplied(snapshot.get(ref.collection, ref.id), position));
    if (refs.length > 0 && pending.length === 0) {
      seen.add(event.id);
      return { status: 'duplicate' } as const;
    }
    // Some documents already carry this event (a crash between writes): it was accepted then,
    // so the rest are brought up to date without deciding again.
    if (pending.length === refs.length) {
      const rejection = decide(event, snapshot);
      if (rejection) return rejection;
    }
    for (const ref of pending) applyTo(ref, event, snapshot, position);
    for (const created of createdBy(event)) snapshot.create(created);
    seen.add(event.id);
    const stock = stockEffect(event, snapshot);
    return stock ? { status: 'applied', stock } : { status: 'applied' };
  });
}

// What an accepted event did to a stock level, for the journal (the stock history).
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

/**
 * After a concurrent writer won the race for some documents, the adapter reloads just those
 * into a fresh snapshot and replays the already-accepted events onto them. Nothing is decided
 * again: acceptance was settled when the batch was projected.
 */
export function replayAccepted(
  inputs: readonly ProjectionInput[],
  outcomes: readonly Outcome[],
  snapshot: Snapshot,
  only: ReadonlySet<string>,
): void {
  inputs.forEach(({ event, position }, index) => {
    if (outcomes[index]?.status !== 'applied') return;
    for (const ref of writesOf(event)) {
      if (!only.has(Snapshot.key(ref.collection, ref.id))) continue;
      if (hasApplied(snapshot.get(ref.collection, ref.id), position)) continue;
      applyTo(ref, event, snapshot, position);
    }
  });
}

function hasApplied(doc: AnyDoc | null, position: Position | undefined): boolean {
  if (!doc || !position) return false;
  const applied = doc._pos?.[position.key];
  return applied !== undefined && applied >= position.offset;
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

function applyTo(ref: DocRef, event: ShopEvent, snapshot: Snapshot, position: Position | undefined): void {
  switch (ref.collection) {
    case 'customers': {
      const next = evolveCustomer(snapshot.get('customers', ref.id), event);
      if (next) snapshot.set('customers', stamp(next, event, position));
      return;
    }
    case 'products': {
      const next = evolveProduct(snapshot.get('products', ref.id), event);
      if (next) snapshot.set('products', stamp(next, event, position));
      return;
    }
    case 'stock': {
      const next = evolveStock(snapshot.get('stock', ref.id), event);
      if (next) snapshot.set('stock', stamp(next, event, position));
      return;
    }
    default:
      assertNever(ref.collection);
  }
}

// Counts the event in the document's revision and, on the Kafka path, its source position.
function stamp<D extends AnyDoc>(doc: D, event: ShopEvent, position: Position | undefined): D {
  const next = { ...doc, _rev: doc._rev + 1, _last: event.id };
  if (position) next._pos = { ...doc._pos, [position.key]: position.offset };
  return next;
}

export function createdBy(event: ShopEvent): Created[] {
  switch (event.type) {
    case 'shop.purchase.made.v1':
      return [{ collection: 'purchases', doc: purchaseOf(event) }];
    case 'shop.customer.registered.v1':
    case 'shop.product.added.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
      return [];
    default:
      return assertNever(event);
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
      return {
        _id: customerId,
        _rev: doc?._rev ?? 0,
        ...(doc?._pos ? { _pos: doc._pos } : {}),
        ...profile,
        registeredAt: doc?.registeredAt ?? event.time,
      };
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
      return {
        _id: sku,
        _rev: doc?._rev ?? 0,
        ...(doc?._pos ? { _pos: doc._pos } : {}),
        ...product,
        addedAt: doc?.addedAt ?? event.time,
        sold: doc?.sold ?? { quantity: 0, revenue: { amount: 0, currency: product.price.currency } },
      };
    }
    case 'shop.purchase.made.v1': {
      if (!doc) return null;
      const line = multiply(event.data.unitPrice, event.data.quantity);
      return {
        ...doc,
        sold: {
          quantity: doc.sold.quantity + event.data.quantity,
          revenue: { amount: doc.sold.revenue.amount + line.amount, currency: doc.sold.revenue.currency },
        },
      };
    }
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
      return { ...current, level: nextLevel(current.level, event), updatedAt };
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
