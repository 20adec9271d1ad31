import type { AnyDoc } from './documents.js';
import type { ShopEvent } from './events.js';
import type { Change, DocRef, Entry } from './projector.js';

// What the projection service (services/projection.ts) needs from storage: the port its
// adapters implement (db/projection-store.ts for MongoDB; an in-memory one in the tests).
// Types only, so that storage adapters depend on the domain and not on the service.

export interface Intent {
  _id: string;
  /** When it was written (the writer's clock, for operators). */
  at: string;
  /** The documents it writes (docKey), and the ids of the journal entries it inserts. */
  keys: string[];
  journal: string[];
  purchases: string[];
  /** The ids of the outbox records it inserts (db path; absent on intents written before). */
  outbox?: string[];
  changes: Change[];
}

/**
 * One applied event of the db path, waiting for `shopctl relay` to publish it to Kafka. Its id
 * orders the outbox: the writer's clock, then the intent, then the event's place in the batch
 * (events of one key are written one intent after another, under the key's lease, so the order
 * of one key's records is the order they were applied in).
 */
export interface OutboxRecord {
  _id: string;
  /** The write intent that inserted it: published only once that write is complete. */
  intent: string;
  /** The event, as Kafka will carry it (JSON of the envelope). */
  value: string;
}

export interface ProjectionStore {
  /** Runs `work` holding a lease on every key (see db/leases). */
  withLeases<T>(keys: readonly string[], work: () => Promise<T>, holder?: string): Promise<T>;
  load(refs: readonly DocRef[]): Promise<Array<{ ref: DocRef; doc: AnyDoc | null }>>;
  /** For those of these events already journaled: their fingerprints (null when unknown). */
  applied(events: readonly ShopEvent[]): Promise<Map<string, string | null>>;
  /** Intents that write any of these keys. */
  pendingIntents(keys: readonly string[]): Promise<Array<Pick<Intent, '_id' | 'keys'>>>;
  intent(id: string): Promise<Intent | null>;
  saveIntent(intent: Intent): Promise<void>;
  /** Inserts the outbox records (a record already there is left as it is). */
  insertOutbox(records: readonly OutboxRecord[]): Promise<void>;
  /** Inserts the entries; returns the ids that exist already, journaled by another intent. */
  insertEntries(entries: readonly Entry[], intent: string): Promise<string[]>;
  /** Whether every journal entry of the intent is in. */
  entriesComplete(intent: Intent): Promise<boolean>;
  /** Removes the entries and outbox records this intent inserted (and only those). */
  removeEntries(intent: Intent): Promise<void>;
  /**
   * Writes each new version where the stored document still has the revision it replaces;
   * a document that already carries this intent is left alone. Anything else is a broken lease,
   * and throws.
   */
  writeChanges(intent: Intent): Promise<void>;
  dropIntent(id: string): Promise<void>;
}
