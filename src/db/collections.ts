import type { Collection, Db } from 'mongodb';
import type { CollectionName, CustomerDoc, DocsByCollection, JournalEntry, PositionDoc, ProductDoc, PurchaseDoc, StockDoc } from '../domain/documents.js';
import { serverTraits, type ServerTraits } from './client.js';

/** The journal: one entry per applied event that creates no document of its own. */
export const JOURNAL = 'events';
/** Write intents in flight (see services/projection): heads, and their bodies. */
export const INTENTS = 'intents';
export const INTENT_BODIES = 'intent_bodies';
/** Applied events of the db path waiting for `shopctl relay` (see domain/projection-port OutboxRecord). */
export const OUTBOX = 'outbox';
/** Where seeded stock-aware runs started (see services/buy stockAtStart): one document per run. */
export const RUNS = 'runs';

/** Every collection the readers and the projection use, by what it holds. */
export const COLLECTIONS = {
  customers: 'customers',
  products: 'products',
  purchases: 'purchases',
  stock: 'stock',
  journal: JOURNAL,
  reservations: 'reservations',
  stores: 'stores',
  /** One per SKU: its global position, kept by the projection (domain/documents PositionDoc). */
  positions: 'positions',
  outbox: OUTBOX,
} as const;

/** The typed collections (the only place outside the projection store that names them). */
export const customersOf = (db: Db): Collection<CustomerDoc> => db.collection<CustomerDoc>(COLLECTIONS.customers);
export const productsOf = (db: Db): Collection<ProductDoc> => db.collection<ProductDoc>(COLLECTIONS.products);
export const purchasesOf = (db: Db): Collection<PurchaseDoc> => db.collection<PurchaseDoc>(COLLECTIONS.purchases);
export const stockOf = (db: Db): Collection<StockDoc> => db.collection<StockDoc>(COLLECTIONS.stock);
export const journalOf = (db: Db): Collection<JournalEntry> => db.collection<JournalEntry>(COLLECTIONS.journal);
export const positionsOf = (db: Db): Collection<PositionDoc> => db.collection<PositionDoc>(COLLECTIONS.positions);

export function collectionOf<C extends CollectionName>(db: Db, name: C): Collection<DocsByCollection[C]> {
  return db.collection<DocsByCollection[C]>(name);
}

const indexes: ReadonlyArray<{ collection: string; keys: Record<string, 1 | -1>; name: string }> = [
  { collection: COLLECTIONS.purchases, keys: { time: -1 }, name: 'time_desc' },
  { collection: COLLECTIONS.purchases, keys: { customerId: 1 }, name: 'customer' },
  { collection: COLLECTIONS.customers, keys: { lastName: 1, firstName: 1 }, name: 'name' },
  { collection: COLLECTIONS.journal, keys: { subject: 1, time: 1 }, name: 'subject_time' },
  { collection: COLLECTIONS.journal, keys: { 'stock.sku': 1, time: 1 }, name: 'stock_sku_time' },
  { collection: COLLECTIONS.stock, keys: { sku: 1, store: 1 }, name: 'sku_store' },
];

// Indexes the readers need. Creating an existing index is a no-op, so this runs on every start;
// one at a time, because concurrent index builds are a known way to hang FerretDB.
// None on FerretDB 1.x: with SQLite it pushes only `_id` filters down to SQL (even patched: see
// scripts/stack/patches), so these would serve no read while making
// every insert slower (measured with purchases: ~7,300 inserts/s with the two purchase indexes,
// ~11,700 without; a find by customerId or the latest 20 by time took 3-4 s on 50,000 either way).
export async function ensureIndexes(db: Db, server?: Pick<ServerTraits, 'kind'>): Promise<void> {
  const { kind } = server ?? (await serverTraits(db));
  if (kind === 'ferretdb') return;
  for (const index of indexes) await db.collection(index.collection).createIndex(index.keys, { name: index.name });
}
