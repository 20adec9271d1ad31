import type { Money } from './money.js';

// What the projection stores. Every evolving document carries:
//   _rev    the number of events applied to it (the same on both write paths); a write names the
//           revision it read, so a lost or doubled write is detected instead of silently kept;
//   _intent the id of the write intent that last wrote it, which tells a writer that completes a
//           crashed intent whether this document was already written (see services/projection).
// Whether an event was applied is not kept per document: the journal (one entry per applied
// event id, a purchase being its own entry) is the one gate, on both write paths.
export interface DocMeta {
  _id: string;
  _rev: number;
  _intent?: string;
  /** The outbox time of the last write that recorded this document's events (see services/projection outboxTime). */
  _at?: string;
}

export interface Address {
  street: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface CustomerDoc extends DocMeta {
  firstName: string;
  lastName: string;
  email: string;
  address: Address;
  locale: string;
  registeredAt: string;
}

export interface ProductDoc extends DocMeta {
  name: string;
  category: string;
  price: Money;
  addedAt: string;
}

export interface Sales {
  quantity: number;
  revenue: Money;
}

/** A product as read: its sales are summed over its stock documents (one per store). */
export type ProductView = ProductDoc & { sold: Sales };

// The current level of one SKU at one store, and what was sold of it there through purchases.
// Sales live here rather than on the product so that every document a purchase changes has one
// writer (the one holding this store and SKU): consumers of different partitions never write
// the same document. A product's sales are the sum over its stores, taken when read.
// Its history is the journal.
export interface StockDoc extends DocMeta {
  store: string;
  sku: string;
  level: number;
  updatedAt: string;
  sold?: Sales;
  /** Units held by open (confirmed) reservations: not promised to anyone else. */
  pending?: number;
  /**
   * The highest level this store and SKU ever had, kept by the same evolve that changes `level`
   * (so applied effectively once with it). Absent on documents written before it was kept: read
   * as max(level, maxLevel) (see maxLevelOf).
   */
  maxLevel?: number;
}

/** The running maximum of a stock document, for documents written before it was kept too. */
export const maxLevelOf = (doc: Pick<StockDoc, 'level' | 'maxLevel'>): number => Math.max(doc.level, doc.maxLevel ?? 0);

/** One store's part of a SKU's position: its stock document's level and holds, as last applied. */
export interface PositionPart {
  store: string;
  level: number;
  pending: number;
}

// The global position of one SKU (_id: the SKU), kept by the projection: changed in the same
// write as the stock document whose level or holds changed (so effectively once with it, under
// the same leases and intent). Each store's part is its absolute level and holds (not a delta), so
// a part is always what its stock document says once that document has changed since this was
// kept; the sums are over the parts, and `maxOnHand` is the running maximum of `onHand` as the
// projection applied the events (events of different stores interleave in the order they were
// applied: see docs/analytics.md).
export interface PositionDoc extends DocMeta {
  sku: string;
  onHand: number;
  pending: number;
  maxOnHand: number;
  /** By store id (an array: a store id may contain '.', which a document key may not). */
  parts: PositionPart[];
  updatedAt: string;
}

export const reservationStatuses = ['confirmed', 'rejected', 'fulfilled', 'failed', 'cancelled', 'expired'] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];
export type ReservationReason = 'insufficient_stock' | 'unknown_sku' | 'store_stale';

// One reservation: decided by the store side when its request is applied (confirmed, holding
// its quantity in the stock document's `pending`, or rejected with a reason), then closed once:
// fulfilled (the goods left the store), failed (the shop floor sold them first), cancelled or
// expired (the hold released).
export interface ReservationDoc extends DocMeta {
  customerId: string;
  store: string;
  sku: string;
  quantity: number;
  status: ReservationStatus;
  reason?: ReservationReason;
  /** Why, in words (rejected and failed ones). */
  message?: string;
  requestedAt: string;
  expiresAt: string;
  /** When it reached its status (the event time of the step that closed it, or the request's). */
  updatedAt: string;
}

// A store as the central view knows it: its last heartbeat (the store's clock). A store that has
// never sent one is not watched: its freshness is unknown, not stale.
// Its capacity (units) and location come from `shop.store.defined.v1` (`stores add|set`); a store
// that was never defined has none (null where shown), one that never heartbeat no lastHeartbeat.
export interface StoreDoc extends DocMeta {
  lastHeartbeat?: string;
  capacity?: number;
  lat?: number;
  lon?: number;
  city?: string;
  /** The event time of the last definition applied. */
  definedAt?: string;
}

// Created once by its event (the _id is the event id) and never changed. A purchase is its own
// journal entry (pos, applied, stock: see JournalEntry): one document per purchase, not two.
// Purchases written before that have no journal fields; their entries are in the journal.
export interface PurchaseDoc {
  _id: string;
  customerId: string;
  sku: string;
  store: string;
  quantity: number;
  unitPrice: Money;
  total: Money;
  time: string;
  pos?: string | null;
  stock?: StockEffect;
  applied?: { at: string; n: number };
  /** Fingerprint of the event's content (see fingerprintOf): the same id with other content is refused. */
  h?: string;
  /** The write intent that journaled it. */
  intent?: string;
}

// One per applied event that creates no document of its own (purchases are their own entries).
// `pos` is where it was first applied from ("topic-partition@offset"), null on the db path.
export interface JournalEntry {
  _id: string;
  type: string;
  subject: string;
  time: string;
  pos: string | null;
  h?: string;
  intent?: string;
  /** For events that change a stock level: what changed and the level after it. */
  stock?: StockEffect;
  /** When it was applied (wall clock of the writer) and its place in that batch: the order of the history. */
  applied?: { at: string; n: number };
}

export interface StockEffect {
  store: string;
  sku: string;
  /** received: +q, sold or purchased: -q, counted: the level counted. */
  change: number;
  level: number;
}

/** Collections whose documents evolve with events (read, changed, written back conditionally). */
export const collectionNames = ['customers', 'products', 'stock', 'reservations', 'stores', 'positions'] as const;
export type CollectionName = (typeof collectionNames)[number];

export interface DocsByCollection {
  customers: CustomerDoc;
  products: ProductDoc;
  stock: StockDoc;
  reservations: ReservationDoc;
  stores: StoreDoc;
  positions: PositionDoc;
}

export type AnyDoc = DocsByCollection[CollectionName];

/** Documents an event creates once and never changes: inserted, a duplicate key means done. */
export type Created = { collection: 'purchases'; doc: PurchaseDoc };
