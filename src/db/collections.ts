import type { Collection, Db } from 'mongodb';
import type { CollectionName, DocsByCollection, JournalEntry } from '../domain/documents.js';
import { serverTraits, type ServerTraits } from './client.js';

export const JOURNAL = 'events';

export function collectionOf<C extends CollectionName>(db: Db, name: C): Collection<DocsByCollection[C]> {
  return db.collection<DocsByCollection[C]>(name);
}

export function journalOf(db: Db): Collection<JournalEntry> {
  return db.collection<JournalEntry>(JOURNAL);
}

const indexes: ReadonlyArray<{ collection: string; keys: Record<string, 1 | -1>; name: string }> = [
  { collection: 'purchases', keys: { time: -1 }, name: 'time_desc' },
  { collection: 'purchases', keys: { customerId: 1 }, name: 'customer' },
  { collection: 'customers', keys: { lastName: 1, firstName: 1 }, name: 'name' },
  { collection: JOURNAL, keys: { subject: 1, time: 1 }, name: 'subject_time' },
  { collection: JOURNAL, keys: { 'stock.sku': 1, time: 1 }, name: 'stock_sku_time' },
  { collection: 'stock', keys: { sku: 1, store: 1 }, name: 'sku_store' },
];

// Indexes the readers need. Creating an existing index is a no-op, so this runs on every start;
// one at a time, because concurrent index builds are a known way to hang FerretDB.
// None on FerretDB 1.x: with SQLite it pushes only exact { _id } filters down to SQL (and even
// those scan, see ServerTraits.indexedIdLookups), so these would serve no read while making
// every insert slower (measured with purchases: ~7,300 inserts/s with the two purchase indexes,
// ~11,700 without; a find by customerId or the latest 20 by time took 3-4 s on 50,000 either way).
export async function ensureIndexes(db: Db, server?: Pick<ServerTraits, 'kind'>): Promise<void> {
  const { kind } = server ?? (await serverTraits(db));
  if (kind === 'ferretdb') return;
  for (const index of indexes) await db.collection(index.collection).createIndex(index.keys, { name: index.name });
}
