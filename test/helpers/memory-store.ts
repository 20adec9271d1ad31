import type { AnyDoc } from '../../src/domain/documents.js';
import { docKey, type Entry } from '../../src/domain/projector.js';
import type { Intent, OutboxRecord, ProjectionStore } from '../../src/domain/projection-port.js';

/** Thrown by the memory store at the write it was told to crash on. */
export class Crash extends Error {
  constructor(at: number) {
    super(`crashed at write ${at}`);
  }
}

/**
 * The projection's storage in memory, for unit tests of the projection service. Every single
 * write (an intent, one journal entry, one document) counts as one step; `crashAt(n)` makes the
 * n-th step from now throw before it is done, as a process killed at that point would leave it.
 * State survives the "crash": a new projection over the same store is the restarted writer.
 */
export class MemoryStore implements ProjectionStore {
  readonly docs = new Map<string, AnyDoc>();
  readonly journal = new Map<string, Entry['doc']>();
  readonly purchases = new Map<string, Entry['doc']>();
  readonly intents = new Map<string, Intent>();
  readonly outbox = new Map<string, OutboxRecord>();
  steps = 0;
  private crashStep: number | null = null;

  crashAt(step: number | null): void {
    this.crashStep = step === null ? null : this.steps + step;
  }

  private step(): void {
    this.steps += 1;
    if (this.crashStep !== null && this.steps >= this.crashStep) {
      this.crashStep = null;
      throw new Crash(this.steps);
    }
  }

  withLeases<T>(_keys: readonly string[], work: () => Promise<T>): Promise<T> {
    return work();
  }

  load(refs: Parameters<ProjectionStore['load']>[0]) {
    return Promise.resolve(refs.map((ref) => ({ ref, doc: structuredClone(this.docs.get(docKey(ref)) ?? null) })));
  }

  applied(events: Parameters<ProjectionStore['applied']>[0]) {
    const result = new Map<string, string | null>();
    for (const event of events) {
      const entry = (event.type === 'shop.purchase.made.v1' ? this.purchases : this.journal).get(event.id);
      if (entry) result.set(event.id, entry.h ?? null);
    }
    return Promise.resolve(result);
  }

  pendingIntents(keys: readonly string[]) {
    const wanted = new Set(keys);
    return Promise.resolve([...this.intents.values()].filter((intent) => intent.keys.some((key) => wanted.has(key))).map(({ _id, keys: k }) => ({ _id, keys: k })));
  }

  intent(id: string) {
    return Promise.resolve(structuredClone(this.intents.get(id) ?? null));
  }

  saveIntent(intent: Intent) {
    this.step();
    this.intents.set(intent._id, structuredClone(intent));
    return Promise.resolve();
  }

  insertOutbox(records: readonly OutboxRecord[]) {
    for (const record of records) {
      if (this.outbox.has(record._id)) continue;
      this.step();
      this.outbox.set(record._id, structuredClone(record));
    }
    return Promise.resolve();
  }

  insertEntries(entries: readonly Entry[], intent: string) {
    const clashes: string[] = [];
    for (const entry of entries) {
      const into = entry.collection === 'purchases' ? this.purchases : this.journal;
      const existing = into.get(entry.doc._id);
      if (existing) {
        if (existing.intent !== intent) clashes.push(entry.doc._id);
        continue;
      }
      this.step();
      into.set(entry.doc._id, structuredClone(entry.doc));
    }
    return Promise.resolve(clashes);
  }

  entriesComplete(intent: Intent) {
    const mine = (into: Map<string, Entry['doc']>, ids: string[]) => ids.every((id) => into.get(id)?.intent === intent._id);
    const records = (intent.outbox ?? []).every((id) => this.outbox.get(id)?.intent === intent._id);
    return Promise.resolve(mine(this.journal, intent.journal) && mine(this.purchases, intent.purchases) && records);
  }

  removeEntries(intent: Intent) {
    for (const id of intent.journal) if (this.journal.get(id)?.intent === intent._id) this.journal.delete(id);
    for (const id of intent.purchases) if (this.purchases.get(id)?.intent === intent._id) this.purchases.delete(id);
    for (const id of intent.outbox ?? []) if (this.outbox.get(id)?.intent === intent._id) this.outbox.delete(id);
    return Promise.resolve();
  }

  writeChanges(intent: Intent) {
    for (const change of intent.changes) {
      const key = docKey({ collection: change.collection, id: change.doc._id });
      const stored = this.docs.get(key);
      if (stored?._intent === intent._id) continue;
      if ((stored?._rev ?? 0) !== change.expectedRev) throw new Error(`${key}: expected revision ${change.expectedRev}, found ${stored?._rev}`);
      this.step();
      this.docs.set(key, structuredClone(change.doc));
    }
    return Promise.resolve();
  }

  dropIntent(id: string) {
    this.step();
    this.intents.delete(id);
    return Promise.resolve();
  }
}
