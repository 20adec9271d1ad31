import type { AnyBulkWriteOperation, Db } from 'mongodb';
import type { AnyDoc, CollectionName, JournalEntry, PurchaseDoc } from '../domain/documents.js';
import {
  createdBy,
  positionLabel,
  projectBatch,
  refsOf,
  replayAccepted,
  Snapshot,
  type Change,
  type DocRef,
  type Outcome,
  type ProjectionInput,
} from '../domain/projector.js';
import type { ServerTraits } from './client.js';
import { collectionOf, JOURNAL } from './collections.js';
import { duplicateKeyIndexes } from './write-errors.js';

const MAX_CONFLICT_ROUNDS = 8;

export interface ApplyResult {
  outcomes: Outcome[];
  /** Evolving documents written (after folding: one write per document per batch). */
  writes: number;
  /** Rounds lost to a concurrent writer and replayed. */
  conflicts: number;
}

export interface ProjectionTarget {
  db: Db;
  server: Pick<ServerTraits, 'updatesPerCommand' | 'conditionalWrites' | 'indexedIdLookups'>;
}

/**
 * Applies a batch of events to MongoDB through the pure projector, in a fixed number of
 * round-trips whatever the batch size: one read per evolving collection, one journal insert
 * (of the purchases themselves, and of the other events' entries), a few bulk writes per
 * collection.
 *
 * Effectively once without transactions:
 * - the journal (one entry per accepted event, unique _id = event id; a purchase is its own
 *   entry) is the gate: an event already journaled from another position is a duplicate and has
 *   no effect;
 * - each evolving document records the offset it applied per source partition (_pos), so a
 *   redelivery after a crash between the journal and the documents completes what is missing;
 * - every document write is checked against the revision read (see WriteCheck), so a concurrent
 *   writer is detected and the accepted events are replayed onto the fresh document instead of
 *   lost.
 */
export async function applyEvents(target: ProjectionTarget, inputs: readonly ProjectionInput[]): Promise<ApplyResult> {
  if (inputs.length === 0) return { outcomes: [], writes: 0, conflicts: 0 };
  const { db } = target;
  const refs = inputs.flatMap((input) => refsOf(input.event));
  const journaled = new Map<string, GateCollection>(); // ids this call journaled, and where
  let excluded = new Set<string>(); // true duplicates found in the journal
  let snapshot: Snapshot;
  let outcomes: Outcome[];
  let writes = 0;
  let conflicts = 0;

  // Decide, journal, and write the stock levels the decisions rest on. A stock document is
  // always written conditionally: if another writer changed it meanwhile, everything is decided
  // again on fresh documents (nothing else has been written yet), so stock never goes negative.
  for (let attempt = 0; ; attempt += 1) {
    if (attempt >= MAX_CONFLICT_ROUNDS) throw new Error(`projection: gave up after ${MAX_CONFLICT_ROUNDS} rounds of stock conflicts`);
    const loaded = await loadDocs(target, refs);
    snapshot = snapshotOf(loaded);
    outcomes = projectBatch(inputs, snapshot, excluded);
    // Excluding a duplicate can change later decisions (stock), so settle until nothing new is found.
    for (let round = 0; ; round += 1) {
      const fresh = acceptedEntries(inputs, outcomes).filter((entry) => !journaled.has(entry.doc._id));
      const duplicates = await journalOrFindDuplicates(target, fresh);
      for (const entry of fresh) if (!duplicates.has(entry.doc._id)) journaled.set(entry.doc._id, entry.collection);
      if (duplicates.size === 0) break;
      if (round >= MAX_CONFLICT_ROUNDS) throw new Error('projection: duplicates did not settle');
      excluded = new Set([...excluded, ...duplicates]);
      snapshot = snapshotOf(loaded);
      outcomes = projectBatch(inputs, snapshot, excluded);
    }
    await unjournal(db, journaled, inputs, outcomes);
    const guards = snapshot.changes().filter((change) => change.collection === 'stock');
    writes += guards.length;
    const lost = await writeChanges(target, guards, target.server.conditionalWrites ? 'filter' : 'read');
    if (lost.length === 0) break;
    conflicts += 1;
  }

  // Created documents (purchases) were written above: they are their events' journal entries.
  // The other documents take commutative effects (counters, profiles): a lost race is replayed
  // onto the fresh document without deciding again.
  let changes = snapshot.changes().filter((change) => change.collection !== 'stock');
  for (let round = 0; changes.length > 0; round += 1) {
    if (round >= MAX_CONFLICT_ROUNDS) {
      throw new Error(`projection: gave up after ${MAX_CONFLICT_ROUNDS} rounds of write conflicts`);
    }
    writes += changes.length;
    const lost = await writeChanges(target, changes, target.server.conditionalWrites ? 'filter' : 'none');
    if (lost.length === 0) break;
    conflicts += 1;
    const retry = snapshotOf(await loadDocs(target, lost.map((change) => ({ collection: change.collection, id: change.doc._id }))));
    replayAccepted(inputs, outcomes, retry, new Set(lost.map((change) => Snapshot.key(change.collection, change.doc._id))));
    changes = retry.changes();
  }
  return { outcomes, writes, conflicts };
}

// After deciding again, an event this call journaled may no longer be accepted: take it out.
async function unjournal(db: Db, journaled: Map<string, GateCollection>, inputs: readonly ProjectionInput[], outcomes: readonly Outcome[]): Promise<void> {
  const accepted = new Set(acceptedEntries(inputs, outcomes).map((entry) => entry.doc._id));
  const stale = [...journaled].filter(([id]) => !accepted.has(id));
  for (const collection of new Set(stale.map(([, where]) => where))) {
    const ids = stale.filter(([, where]) => where === collection).map(([id]) => id);
    await db.collection<{ _id: string }>(collection).deleteMany({ _id: { $in: ids } });
  }
  for (const [id] of stale) journaled.delete(id);
}

type Loaded = Array<{ ref: DocRef; doc: AnyDoc | null }>;

async function findIn(db: Db, collection: string, ids: readonly string[]): Promise<AnyDoc[]> {
  return (await db
    .collection(collection)
    .find({ _id: { $in: [...ids] } } as object)
    .toArray()) as unknown as AnyDoc[];
}

// Exact lookups, all at once (findByIds sends at most LOOKUPS_AT_MOST here).
async function findEach(db: Db, collection: string, ids: readonly string[]): Promise<AnyDoc[]> {
  const docs = await Promise.all(ids.map((id) => db.collection(collection).findOne({ _id: id } as object)));
  return docs.filter((doc) => doc !== null) as unknown as AnyDoc[];
}

function snapshotOf(loaded: Loaded): Snapshot {
  const snapshot = new Snapshot();
  for (const { ref, doc } of loaded) snapshot.load(ref.collection, ref.id, doc);
  return snapshot;
}

// Without an _id index (FerretDB, see ServerTraits.indexedIdLookups) an exact { _id } lookup is a
// scan in SQL that stops at the match (~3 µs a document passed; the whole collection when the id
// is not there) and { _id: { $in } } one scan that decodes every document (~36 µs each). Measured
// on 2,000 and 10,000 documents: one $in costs about what 12 lookups do, whatever the size.
const LOOKUPS_AT_MOST = 12;

/** The documents with these ids, read the cheaper way for this server. */
async function findByIds(target: ProjectionTarget, collection: string, ids: readonly string[]): Promise<AnyDoc[]> {
  const oneByOne = !target.server.indexedIdLookups && ids.length <= LOOKUPS_AT_MOST;
  return oneByOne ? findEach(target.db, collection, ids) : findIn(target.db, collection, ids);
}

// The collections are read at the same time (reads do not contend on FerretDB; writes do).
async function loadDocs(target: ProjectionTarget, refs: readonly DocRef[]): Promise<Loaded> {
  const wanted = new Map<CollectionName, Set<string>>();
  for (const ref of refs) {
    const set = wanted.get(ref.collection) ?? new Set<string>();
    set.add(ref.id);
    wanted.set(ref.collection, set);
  }
  const perCollection = await Promise.all(
    [...wanted].map(async ([collection, idSet]) => {
      const ids = [...idSet];
      const found = await findByIds(target, collection, ids);
      const byId = new Map(found.map((doc) => [doc._id, doc]));
      return ids.map((id) => ({ ref: { collection, id }, doc: byId.get(id) ?? null }));
    }),
  );
  return perCollection.flat();
}

/** Where an accepted event is journaled: in the document it creates (a purchase), else in the journal. */
type GateCollection = typeof JOURNAL | 'purchases';
type GateEntry = { collection: typeof JOURNAL; doc: JournalEntry } | { collection: 'purchases'; doc: PurchaseDoc };

function acceptedEntries(inputs: readonly ProjectionInput[], outcomes: readonly Outcome[]): GateEntry[] {
  const entries: GateEntry[] = [];
  const at = new Date().toISOString();
  inputs.forEach(({ event, position }, index) => {
    const outcome = outcomes[index];
    if (outcome?.status !== 'applied') return;
    const pos = positionLabel(position);
    const stock = outcome.stock ? { stock: outcome.stock } : {};
    const [created] = createdBy(event);
    if (created) {
      entries.push({ collection: created.collection, doc: { ...created.doc, pos, ...stock, applied: { at, n: index } } });
      return;
    }
    entries.push({
      collection: JOURNAL,
      doc: { _id: event.id, type: event.type, subject: event.subject, time: event.time, pos, ...stock, applied: { at, n: index } },
    });
  });
  return entries;
}

// Journals the entries (purchases as themselves, the others in the journal). Returns the ids
// that were journaled before from another position (true duplicates). The same id journaled from
// the same position is a redelivery, not a duplicate. The db path has no positions: any earlier
// entry makes a duplicate there. (A purchase stored before purchases carried their own `pos` has
// none: a duplicate too, as it was applied then.)
async function journalOrFindDuplicates(target: ProjectionTarget, entries: readonly GateEntry[]): Promise<Set<string>> {
  const duplicates = new Set<string>();
  for (const collection of new Set(entries.map((entry) => entry.collection))) {
    const docs = entries.filter((entry) => entry.collection === collection).map((entry) => entry.doc);
    const clashes = new Map<string, string | null>();
    try {
      await target.db.collection<{ _id: string }>(collection).insertMany(docs.map((doc) => ({ ...doc })), { ordered: false });
    } catch (error) {
      for (const index of duplicateKeyIndexes(error)) {
        const doc = docs[index];
        if (doc) clashes.set(doc._id, doc.pos ?? null);
      }
    }
    if (clashes.size === 0) continue;
    const ids = [...clashes.keys()];
    const existing = await findByIds(target, collection, ids);
    const posById = new Map(existing.map((doc) => [doc._id, (doc as { pos?: string | null }).pos]));
    for (const [id, pos] of clashes) if (pos === null || posById.get(id) !== pos) duplicates.add(id);
  }
  return duplicates;
}

/**
 * How a write makes sure the document is still the one read:
 * - 'filter': the update's filter names the revision read (atomic on MongoDB);
 * - 'read': one read of the stored revisions before writing by _id (FerretDB, where a filter
 *   beyond { _id } costs a decoding scan per document and is not atomic anyway; the writers'
 *   stock leases are what excludes each other there);
 * - 'none': by _id alone (FerretDB's counters and profiles: one writer per document).
 */
type WriteCheck = 'filter' | 'read' | 'none';

// Writes each changed document once: new documents with insertMany (a duplicate key means
// someone else created it first), existing ones with replaceOne by _id, checked as `check` says.
// Collections are written one after the other: FerretDB serialises writes anyway and concurrent
// commands exhaust its connection pool. Returns the changes that lost to a concurrent writer.
async function writeChanges(target: ProjectionTarget, changes: readonly Change[], check: WriteCheck): Promise<Change[]> {
  const { db } = target;
  const byCollection = new Map<CollectionName, Change[]>();
  for (const change of changes) {
    const list = byCollection.get(change.collection) ?? [];
    list.push(change);
    byCollection.set(change.collection, list);
  }
  const lost: Change[] = [];
  for (const [collection, list] of byCollection) {
    const created = list.filter((change) => change.expectedRev === 0);
    let updated = list.filter((change) => change.expectedRev > 0);
    let suspect: Change[] = [];
    if (created.length > 0) {
      try {
        await collectionOf(db, collection).insertMany(created.map((change) => change.doc) as never, { ordered: false });
      } catch (error) {
        const failed = duplicateKeyIndexes(error);
        suspect = suspect.concat(failed.map((index) => created[index]).filter((change) => change !== undefined));
      }
    }
    if (check === 'read' && updated.length > 0) {
      const stored = await findByIds(target, collection, updated.map((change) => change.doc._id));
      const revById = new Map(stored.map((doc) => [doc._id, doc._rev]));
      lost.push(...updated.filter((change) => revById.get(change.doc._id) !== change.expectedRev));
      updated = updated.filter((change) => revById.get(change.doc._id) === change.expectedRev);
    }
    // Unordered is safe: the batch was folded, so no document appears twice.
    for (let start = 0; start < updated.length; start += target.server.updatesPerCommand) {
      const slice = updated.slice(start, start + target.server.updatesPerCommand);
      const result = await collectionOf(db, collection).bulkWrite(
        slice.map((change): AnyBulkWriteOperation<AnyDoc> => ({
          replaceOne: {
            filter: check === 'filter' ? { _id: change.doc._id, _rev: change.expectedRev } : { _id: change.doc._id },
            replacement: change.doc,
          },
        })) as never,
        { ordered: false },
      );
      if (result.matchedCount !== slice.length) suspect = suspect.concat(slice);
    }
    if (suspect.length > 0) lost.push(...(await verify(target, collection, suspect)));
  }
  return lost;
}

// A write landed when the stored document names the last event this writer applied to it.
async function verify(target: ProjectionTarget, collection: CollectionName, list: readonly Change[]): Promise<Change[]> {
  const stored = await findByIds(
    target,
    collection,
    list.map((change) => change.doc._id),
  );
  const lastById = new Map(stored.map((doc) => [doc._id, doc._last]));
  return list.filter((change) => lastById.get(change.doc._id) !== change.doc._last);
}
