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
  changes: Change[];
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
  /** Inserts the entries; returns the ids that exist already, journaled by another intent. */
  insertEntries(entries: readonly Entry[], intent: string): Promise<string[]>;
  /** Whether every journal entry of the intent is in. */
  entriesComplete(intent: Intent): Promise<boolean>;
  /** Removes the entries this intent inserted (and only those). */
  removeEntries(intent: Intent): Promise<void>;
  /**
   * Writes each new version where the stored document still has the revision it replaces;
   * a document that already carries this intent is left alone. Anything else is a broken lease,
   * and throws.
   */
  writeChanges(intent: Intent): Promise<void>;
  dropIntent(id: string): Promise<void>;
}
