import type { Db } from 'mongodb';

// The ledger of re-driven dead letters: each letter sent back is recorded, so that a later
// `errors redrive` does not send it twice by accident (--force does).

export const REDRIVEN_COLLECTION = 'redriven';

/** A letter sent back. */
export interface RedrivenDoc {
  /** `<dead-letter topic>/<partition>:<offset>` */
  _id: string;
  at: string;
  to: string;
  reason: string;
  eventId: string | null;
}

/** Which of `keys` were re-driven before. */
export async function redrivenAmong(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const markers = db.collection<RedrivenDoc>(REDRIVEN_COLLECTION);
  const done = new Set<string>();
  // In slices: FerretDB decodes every document for an `_id` `$in` (see ARCHITECTURE.md), and
  // one huge filter is no better on MongoDB.
  for (let start = 0; start < keys.length; start += 1000) {
    const found = await markers.find({ _id: { $in: keys.slice(start, start + 1000) } }, { projection: { _id: 1 } }).toArray();
    for (const doc of found) done.add(doc._id);
  }
  return done;
}

/** Records letters as re-driven (again, when forced: the newest time wins). */
export async function recordRedriven(db: Db, docs: readonly RedrivenDoc[]): Promise<void> {
  const markers = db.collection<RedrivenDoc>(REDRIVEN_COLLECTION);
  // Fewer than 100 statements per command: FerretDB's `update` hangs at 100 (ARCHITECTURE.md).
  for (let start = 0; start < docs.length; start += 90) {
    await markers.bulkWrite(
      docs.slice(start, start + 90).map(({ _id, ...replacement }) => ({ replaceOne: { filter: { _id }, replacement, upsert: true } })),
      { ordered: true },
    );
  }
}
