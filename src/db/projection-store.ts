import type { AnyBulkWriteOperation, Db } from 'mongodb';
import type { AnyDoc, CollectionName } from '../domain/documents.js';
import type { ShopEvent } from '../domain/events.js';
import type { Change, DocRef, Entry } from '../domain/projector.js';
import type { Intent, OutboxRecord, ProjectionStore } from '../domain/projection-port.js';
import type { ServerTraits } from './client.js';
import { collectionOf, INTENTS, INTENT_BODIES, JOURNAL, OUTBOX } from './collections.js';
import { withLeases } from './leases.js';
import { duplicateKeyIndexes } from './write-errors.js';

export interface ProjectionTarget {
  db: Db;
  server: Pick<ServerTraits, 'updatesPerCommand'>;
}

/** A write landed on a document that another writer had changed: the leases did not hold. */
export class ConcurrentWriteError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ConcurrentWriteError';
  }
}

// An intent is stored as a small head ({ _id, keys }: what writers look for) and a body (the
// new versions and entry ids), so that looking for intents never decodes the bodies. A head
// without a body is an intent whose writer crashed before anything else was written: dropped.
interface IntentHead {
  _id: string;
  at: string;
  keys: string[];
}
type IntentBody = Omit<Intent, 'keys' | 'at'>;

// The patched FerretDB pushes `_id: { $in }` down to SQL for up to 1000 ids
// (scripts/stack/patches/0002); a longer list decodes the whole collection (measured: consume
// 343/s with one $in of 5000 purchase ids per batch, ~2,500/s in groups of 1000).
const IN_AT_MOST = 1000;

const gateOf = (event: ShopEvent): 'purchases' | typeof JOURNAL => (event.type === 'shop.purchase.made.v1' ? 'purchases' : JOURNAL);
const entryCollection = (entry: Entry): 'purchases' | typeof JOURNAL => (entry.collection === 'purchases' ? 'purchases' : JOURNAL);

/** The projection's storage on MongoDB (or FerretDB): documents, journal, intents, leases. */
export function mongoProjectionStore(target: ProjectionTarget): ProjectionStore {
  const { db } = target;
  const heads = db.collection<IntentHead>(INTENTS);
  const bodies = db.collection<IntentBody>(INTENT_BODIES);
  const byId = (collection: string) => db.collection<{ _id: string }>(collection);

  const findIn = async <T>(collection: string, ids: readonly string[], projection?: Record<string, 0 | 1>): Promise<T[]> => {
    const groups: string[][] = [];
    for (let start = 0; start < ids.length; start += IN_AT_MOST) groups.push(ids.slice(start, start + IN_AT_MOST));
    const found = await Promise.all(groups.map((group) => byId(collection).find({ _id: { $in: group } }, projection ? { projection } : {}).toArray()));
    return found.flat() as T[];
  };

  return {
    withLeases: (keys, work, holder) => withLeases(db, keys, work, holder),

    async load(refs) {
      const wanted = new Map<CollectionName, string[]>();
      for (const ref of refs) wanted.set(ref.collection, [...(wanted.get(ref.collection) ?? []), ref.id]);
      const found = await Promise.all(
        [...wanted].map(async ([collection, ids]) => {
          const docs = new Map((await findIn<AnyDoc>(collection, ids)).map((doc) => [doc._id, doc]));
          return ids.map((id): { ref: DocRef; doc: AnyDoc | null } => ({ ref: { collection, id }, doc: docs.get(id) ?? null }));
        }),
      );
      return found.flat();
    },

    async applied(events) {
      const wanted = new Map<string, string[]>();
      for (const event of events) wanted.set(gateOf(event), [...(wanted.get(gateOf(event)) ?? []), event.id]);
      const result = new Map<string, string | null>();
      await Promise.all(
        [...wanted].map(async ([collection, ids]) => {
          for (const entry of await findIn<{ _id: string; h?: string }>(collection, [...new Set(ids)], { _id: 1, h: 1 })) {
            result.set(entry._id, entry.h ?? null);
          }
        }),
      );
      return result;
    },

    async pendingIntents(keys) {
      if (keys.length === 0) return [];
      // The intents collection holds only the writes in flight (a handful): read the heads.
      const wanted = new Set(keys);
      const all = await heads.find({}, { projection: { _id: 1, keys: 1 } }).toArray();
      return all.filter((head) => head.keys.some((key) => wanted.has(key)));
    },

    async intent(id) {
      const [head, body] = await Promise.all([heads.findOne({ _id: id }), bodies.findOne({ _id: id })]);
      if (!head) return null;
      if (!body) return { _id: id, at: head.at, keys: head.keys, journal: [], purchases: [], changes: [] };
      return { ...body, at: head.at, keys: head.keys };
    },

    // Both at once: a head without its body is an intent with nothing to do (see intent()), and a
    // body without its head is never read (intents are found by their heads). Nothing else is
    // written before both are acknowledged, and no other writer reads an intent on documents
    // whose leases its writer holds.
    async saveIntent(intent) {
      const { keys, at, ...body } = intent;
      await Promise.all([heads.insertOne({ _id: intent._id, at, keys }), bodies.insertOne(body)]);
    },

    async insertOutbox(records) {
      try {
        await db.collection<OutboxRecord>(OUTBOX).insertMany(records.map((record) => ({ ...record })), { ordered: false });
      } catch (error) {
        // A record already there was inserted by this intent before (a recovery): keep it.
        duplicateKeyIndexes(error, records.length);
      }
    },

    async insertEntries(entries, intent) {
      const clashes: string[] = [];
      const groups = new Map<string, Array<Entry['doc']>>();
      for (const entry of entries) groups.set(entryCollection(entry), [...(groups.get(entryCollection(entry)) ?? []), entry.doc]);
      for (const [collection, docs] of groups) {
        let failed: number[] = [];
        try {
          await byId(collection).insertMany(
            docs.map((doc) => ({ ...doc })),
            { ordered: false },
          );
        } catch (error) {
          failed = duplicateKeyIndexes(error, docs.length);
        }
        if (failed.length === 0) continue;
        const ids = failed.map((index) => docs[index]?._id).filter((id): id is string => id !== undefined);
        const existing = await findIn<{ _id: string; intent?: string }>(collection, ids, { _id: 1, intent: 1 });
        clashes.push(...existing.filter((doc) => doc.intent !== intent).map((doc) => doc._id));
      }
      return clashes;
    },

    async entriesComplete(intent) {
      // The outbox records too: an intent with no journal entry (a heartbeat) is complete only
      // once they are in (they are inserted first, so a complete journal implies them).
      const outbox = intent.outbox ?? [];
      const [journal, purchases, records] = await Promise.all([
        findIn<{ _id: string; intent?: string }>(JOURNAL, intent.journal, { _id: 1, intent: 1 }),
        findIn<{ _id: string; intent?: string }>('purchases', intent.purchases, { _id: 1, intent: 1 }),
        intent.journal.length + intent.purchases.length === 0 ? findIn<{ _id: string; intent?: string }>(OUTBOX, outbox, { _id: 1, intent: 1 }) : Promise.resolve(null),
      ]);
      const mine = (docs: Array<{ intent?: string }>) => docs.filter((doc) => doc.intent === intent._id).length;
      return mine(journal) === intent.journal.length && mine(purchases) === intent.purchases.length && (records === null || mine(records) === outbox.length);
    },

    async removeEntries(intent) {
      for (const [collection, ids] of [[JOURNAL, intent.journal], ['purchases', intent.purchases], [OUTBOX, intent.outbox ?? []]] as const) {
        for (let start = 0; start < ids.length; start += IN_AT_MOST) {
          await byId(collection).deleteMany({ _id: { $in: ids.slice(start, start + IN_AT_MOST) }, intent: intent._id });
        }
      }
    },

    writeChanges: (intent) => writeChanges(target, intent),

    // Both at once: a body left without its head is never read again (intents are found by
    // their heads), and a head without its body is an intent with nothing to do (see intent()).
    async dropIntent(id) {
      await Promise.all([bodies.deleteOne({ _id: id }), heads.deleteOne({ _id: id })]);
    },
  };
}

// Each changed document once: new ones inserted (a duplicate key: written already, or by
// someone else, checked below), existing ones replaced where they still have the revision read.
// Unordered is safe: the batch was folded, so no document appears twice.
async function writeChanges(target: ProjectionTarget, intent: Intent): Promise<void> {
  const { db } = target;
  const byCollection = new Map<CollectionName, Change[]>();
  for (const change of intent.changes) byCollection.set(change.collection, [...(byCollection.get(change.collection) ?? []), change]);
  for (const [collection, list] of byCollection) {
    let suspect: Change[] = [];
    const created = list.filter((change) => change.expectedRev === 0);
    const updated = list.filter((change) => change.expectedRev > 0);
    if (created.length > 0) {
      try {
        await collectionOf(db, collection).insertMany(created.map((change) => ({ ...change.doc })) as never, { ordered: false });
      } catch (error) {
        suspect = suspect.concat(duplicateKeyIndexes(error, created.length).map((index) => created[index]).filter((change) => change !== undefined));
      }
    }
    for (let start = 0; start < updated.length; start += target.server.updatesPerCommand) {
      const slice = updated.slice(start, start + target.server.updatesPerCommand);
      const result = await collectionOf(db, collection).bulkWrite(
        slice.map((change): AnyBulkWriteOperation<AnyDoc> => ({
          replaceOne: { filter: { _id: change.doc._id, _rev: change.expectedRev }, replacement: change.doc },
        })) as never,
        { ordered: false },
      );
      if (result.matchedCount !== slice.length) suspect = suspect.concat(slice);
    }
    if (suspect.length > 0) await verify(target, collection, intent._id, suspect);
  }
}

// Every suspect document must now carry this intent (it was written before: a recovery, or a
// race with another writer completing the same intent). Anything else means two writers held
// one document: refuse to go on rather than keep a lost update.
async function verify(target: ProjectionTarget, collection: CollectionName, intent: string, list: readonly Change[]): Promise<void> {
  const stored = await target.db
    .collection<AnyDoc>(collection)
    .find({ _id: { $in: list.map((change) => change.doc._id) } } as object, { projection: { _id: 1, _rev: 1, _intent: 1 } })
    .toArray();
  const byId = new Map(stored.map((doc) => [doc._id, doc]));
  const broken = list.filter((change) => byId.get(change.doc._id)?._intent !== intent);
  if (broken.length === 0) return;
  const first = broken[0] as Change;
  const found = byId.get(first.doc._id);
  throw new ConcurrentWriteError(
    `projection: ${collection}/${first.doc._id} was changed by another writer (expected revision ${first.expectedRev}, found ${found?._rev ?? 'none'}); ${broken.length} document(s) not written`,
  );
}
