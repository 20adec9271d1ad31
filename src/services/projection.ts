import { randomUUID } from 'node:crypto';
import { mongoProjectionStore, type ProjectionTarget } from '../db/projection-store.js';
import { DEFAULT_RULES, type AvailabilityRules } from '../domain/availability.js';
import type { AnyDoc } from '../domain/documents.js';
import type { ReservationDecided } from '../domain/events.js';
import type { Intent, OutboxRecord, ProjectionStore } from '../domain/projection-port.js';
import { logger } from '../log.js';
import {
  docKey,
  decisionFromStored,
  decisionOf,
  entriesOf,
  isRecorded,
  projectBatch,
  refsOf,
  Snapshot,
  writesOf,
  type DocRef,
  type Outcome,
  type ProjectionInput,
} from '../domain/projector.js';

// The projection: the one place events are applied, called by the db path (sinks) and by the
// Kafka consumer alike. Effectively once without multi-document transactions:
//
// 1. Every document a batch writes is leased (one writer per document at a time, on every server
//    and both write paths).
// 2. Under the leases, the journal tells which events were applied before (by event id: a
//    duplicate is recognised before any rule is asked), the pure projector decides the rest and
//    folds them into one new version per document.
// 3. A write intent is stored first, in one document (an atomic insert everywhere): the new
//    versions, each with the revision it replaces, and the ids of the journal entries to come.
//    Then the journal entries are inserted, then the documents replaced, then the intent removed.
// 4. A writer that finds an intent left on its documents (its writer crashed) completes it before
//    anything else: forward when all its journal entries are in (the documents are then written
//    from the stored versions, skipping those already written), else backward (its entries are
//    removed; no document had been written yet) so that its events are decided again when they
//    come again. Whatever the crash point, an event ends applied exactly once or not at all.

export type { Intent, ProjectionStore } from '../domain/projection-port.js';

export interface ApplyOptions {
  /** A role only one process plays at a time (a consumer of one partition): see db/leases. */
  holder?: string | undefined;
  /**
   * Record the applied events in the outbox for `shopctl relay` (the db path: events that
   * reached MongoDB without Kafka). Written before the journal entries, so a complete journal
   * means a complete outbox; undone with them.
   */
  outbox?: boolean | undefined;
}

export interface ApplyResult {
  outcomes: Outcome[];
  /**
   * The store's decisions on the reservation requests this call decided, as events: the Kafka
   * path publishes them to the reservations topic (the confirmation back to the central view and
   * every other consumer); the db path records them in the outbox in place of the requests.
   */
  decisions: ReservationDecided[];
  /** Evolving documents written (after folding: one write per document per batch). */
  writes: number;
  /** Intents of crashed writers completed or undone first. */
  recovered: number;
}

export interface Projection {
  apply(inputs: readonly ProjectionInput[], options?: ApplyOptions): Promise<ApplyResult>;
  /**
   * Completes or undoes one intent left by a crashed writer (step 4 above), for whoever waits for
   * it without writing its documents (the relay). False when it was gone already.
   */
  recover(id: string): Promise<boolean>;
}

export interface ProjectionDeps {
  now: () => Date;
  newId: () => string;
  /** Safety margins and the freshness SLA that decide reservations (default: none, 30 s). */
  rules?: AvailabilityRules;
}

const MAX_ROUNDS = 20;
const log = logger.namespace('projection');

export class ProjectionError extends Error {
  readonly retriable = true;
  constructor(message: string) {
    super(message);
    this.name = 'ProjectionError';
  }
}

export function createProjection(store: ProjectionStore, deps: ProjectionDeps): Projection {
  // Completes or undoes one intent left by a crashed writer, holding the leases of all it writes.
  const recover = async (id: string, keys: readonly string[], holder: string | undefined): Promise<boolean> =>
    store.withLeases(
      keys,
      async () => {
        const intent = await store.intent(id);
        if (!intent) return false; // its writer finished it, or another writer recovered it
        if (await store.entriesComplete(intent)) {
          log.info('completing a write intent left by a crashed writer', { intent: id, documents: intent.changes.length });
          await store.writeChanges(intent);
        } else {
          log.info('undoing a write intent left by a crashed writer before its journal was complete', { intent: id });
          await store.removeEntries(intent);
        }
        await store.dropIntent(id);
        return true;
      },
      holder,
    );

  // One attempt under the leases. It gives way when an intent was left on these documents
  // (recover it first), or when another writer journaled one of these ids meanwhile (decide again).
  type Attempt = { done: Omit<ApplyResult, 'recovered'> } | { left: Array<Pick<Intent, '_id' | 'keys'>> } | { clash: true };
  const rules = deps.rules ?? DEFAULT_RULES;
  const attempt = async (inputs: readonly ProjectionInput[], keys: readonly string[], outbox: boolean): Promise<Attempt> => {
    const left = await store.pendingIntents(keys);
    if (left.length > 0) return { left };
    const events = inputs.map((input) => input.event);
    const [loaded, applied] = await Promise.all([store.load(uniqueRefs(inputs)), store.applied(events)]);
    const snapshot = new Snapshot();
    for (const { ref, doc } of loaded) snapshot.load(ref.collection, ref.id, doc);
    const outcomes = projectBatch(inputs, snapshot, applied, rules);
    const decisions = decisionsOf(inputs, outcomes, snapshot);
    const id = deps.newId();
    const at = outbox ? outboxTime(deps.now(), loaded) : deps.now().toISOString();
    const entries = entriesOf(inputs, outcomes, at, id);
    const records: OutboxRecord[] = outbox ? outboxOf(inputs, outcomes, at, id) : [];
    // `_at`: the outbox time of the last write that recorded events of this document (see outboxTime).
    const stamp = records.length > 0 ? { _intent: id, _at: at } : { _intent: id };
    const changes = snapshot.changes().map((change) => ({ ...change, doc: { ...change.doc, ...stamp } }));
    if (entries.length === 0 && changes.length === 0) return { done: { outcomes, decisions, writes: 0 } };
    const intent: Intent = {
      _id: id,
      at: deps.now().toISOString(),
      keys: changes.map((change) => docKey({ collection: change.collection, id: change.doc._id })),
      journal: entries.filter((entry) => entry.collection === 'journal').map((entry) => entry.doc._id),
      purchases: entries.filter((entry) => entry.collection === 'purchases').map((entry) => entry.doc._id),
      ...(records.length > 0 ? { outbox: records.map((record) => record._id) } : {}),
      changes,
    };
    await store.saveIntent(intent);
    if (records.length > 0) await store.insertOutbox(records);
    const clashes = await store.insertEntries(entries, id);
    if (clashes.length > 0) {
      log.info('another writer journaled some of these events meanwhile: deciding again', { clashes: clashes.length });
      await store.removeEntries(intent);
      await store.dropIntent(id);
      return { clash: true };
    }
    await store.writeChanges(intent);
    await store.dropIntent(id);
    log.debug('batch applied', { events: inputs.length, entries: entries.length, documents: changes.length });
    return { done: { outcomes, decisions, writes: changes.length } };
  };

  return {
    async recover(id) {
      const intent = await store.intent(id);
      return intent ? recover(id, intent.keys, undefined) : false;
    },

    async apply(inputs, options = {}) {
      if (inputs.length === 0) return { outcomes: [], decisions: [], writes: 0, recovered: 0 };
      const keys = [...new Set(inputs.flatMap((input) => writesOf(input.event)).map(docKey))];
      let recovered = 0;
      for (let round = 0; round < MAX_ROUNDS; round += 1) {
        const result = await store.withLeases(keys, () => attempt(inputs, keys, options.outbox === true), options.holder);
        if ('done' in result) return { ...result.done, recovered };
        if ('left' in result) {
          for (const left of result.left) if (await recover(left._id, left.keys, options.holder)) recovered += 1;
        }
      }
      throw new ProjectionError(`projection: could not apply a batch of ${inputs.length} events after ${MAX_ROUNDS} rounds (other writers kept changing its documents)`);
    },
  };
}

/**
 * The time that orders a write's outbox records: the writer's clock, but always after the last
 * recorded write of any document it changes (`_at`), so that one document's (one key's) records
 * sort in the order they were applied even when writers' clocks differ or two writes share a
 * millisecond.
 */
function outboxTime(now: Date, loaded: ReadonlyArray<{ doc: AnyDoc | null }>): string {
  let floor = -Infinity;
  for (const { doc } of loaded) if (doc?._at) floor = Math.max(floor, Date.parse(doc._at));
  return new Date(Math.max(now.getTime(), floor + 1)).toISOString();
}

// The applied events in the order they were applied: `at`, the intent and the place in the batch
// make ids that sort in that order (see OutboxRecord).
function outboxOf(inputs: readonly ProjectionInput[], outcomes: readonly Outcome[], at: string, intent: string): OutboxRecord[] {
  const records: OutboxRecord[] = [];
  inputs.forEach(({ event }, index) => {
    if (!isRecorded(outcomes[index])) return;
    // A request goes out as the store's decision on it: consumers of the relayed events apply
    // the decision, and never decide it again against what they happen to have seen.
    const decided = event.type === 'shop.reservation.requested.v1' ? decisionOf(event, outcomes[index]) : null;
    records.push({ _id: `${at}.${intent}.${String(index).padStart(6, '0')}`, intent, value: JSON.stringify(decided ?? event) });
  });
  return records;
}

// The decisions to send: of the requests decided now, and of requests found applied before (a
// redelivery: the crash that caused it may have come before their decisions were sent; a repeat
// is a duplicate for whoever receives it).
function decisionsOf(inputs: readonly ProjectionInput[], outcomes: readonly Outcome[], snapshot: Snapshot): ReservationDecided[] {
  const decisions = new Map<string, ReservationDecided>();
  inputs.forEach(({ event }, index) => {
    if (event.type !== 'shop.reservation.requested.v1') return;
    const outcome = outcomes[index];
    const decided = outcome?.status === 'duplicate' ? decisionFromStored(event, snapshot.get('reservations', event.data.reservationId)) : decisionOf(event, outcome);
    if (decided) decisions.set(decided.id, decided);
  });
  return [...decisions.values()];
}

function uniqueRefs(inputs: readonly ProjectionInput[]): DocRef[] {
  const refs = new Map<string, DocRef>();
  for (const { event } of inputs) for (const ref of refsOf(event)) refs.set(docKey(ref), ref);
  return [...refs.values()];
}

/** The projection over a MongoDB (or FerretDB) database, with the wall clock and random intent ids. */
export function projectionOn(target: ProjectionTarget, deps: Partial<ProjectionDeps> = {}): Projection {
  return createProjection(mongoProjectionStore(target), { now: () => new Date(), newId: randomUUID, ...deps });
}
