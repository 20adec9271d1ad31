import type { Money } from './money.js';

// What the projection stores. Every document carries:
//   _rev  the number of events applied to it (the same on both write paths), used as an
//         optimistic-concurrency guard on every write;
//   _last the id of the last event applied, which tells a writer whether its own conditional
//         write landed when a concurrent writer raced it;
//   _pos  for the Kafka path, the highest offset applied per source partition, so that a
//         redelivered message is recognised without a second effect.
export interface DocMeta {
  _id: string;
  _rev: number;
  _last?: string;
  _pos?: Record<string, number>;
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
  sold: { quantity: number; revenue: Money };
}

// The current level of one SKU at one store. Its history is the journal.
export interface StockDoc extends DocMeta {
  store: string;
  sku: string;
  level: number;
  updatedAt: string;
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
}

// One per accepted event that creates no document of its own (purchases are their own entries).
// `pos` is where it was first accepted from ("topic-partition@offset"), null on the db path: a
// second copy at another position is a duplicate.
export interface JournalEntry {
  _id: string;
  type: string;
  subject: string;
  time: string;
  pos: string | null;
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
export const collectionNames = ['customers', 'products', 'stock'] as const;
export type CollectionName = (typeof collectionNames)[number];

export interface DocsByCollection {
  customers: CustomerDoc;
  products: ProductDoc;
  stock: StockDoc;
}

export type AnyDoc = DocsByCollection[CollectionName];

/** Documents an event creates once and never changes: inserted, a duplicate key means done. */
export type Created = { collection: 'purchases'; doc: PurchaseDoc };
