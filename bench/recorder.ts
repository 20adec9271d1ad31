import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { collectionNames } from '../src/domain/documents.js';

/** Documents keyed by a string _id, as all of shopctl's are. */
export type Doc = { _id: string } & Record<string, unknown>;

/** One write command as the projection issued it. */
export interface WriteCommand {
  collection: string;
  method: 'insertMany' | 'bulkWrite' | 'deleteMany';
  payload: Doc[] | AnyBulkWriteOperation<Doc>[] | [Filter];
  options: unknown;
}

export type Filter = { _id?: unknown } & Record<string, unknown>;

/**
 * A stand-in for the `Db` that the projection store (`src/db/projection-store.ts`) takes: it answers the projection's reads from memory
 * and records its writes instead of sending them, so the bench can replay exactly those write
 * commands (same collections, order, batching, documents) against MongoDB with no reads and no
 * decisions in between. It implements only what `src/db/projection-store.ts` calls; anything
 * else fails loudly, so a change in the projection cannot silently make the ceiling wrong.
 */
export class RecordingDb {
  private readonly docs = new Map<string, Map<string, Doc>>();
  private readonly evolving = new Set<string>(collectionNames);
  commands: WriteCommand[] = [];

  /** Loads every document of the evolving collections (customers, products, …) from `source`. */
  static async mirror(source: Db): Promise<RecordingDb> {
    const recorder = new RecordingDb();
    for (const name of collectionNames) {
      const docs = (await source.collection<Doc>(name).find({}).toArray()) as Doc[];
      recorder.docs.set(name, new Map(docs.map((doc) => [doc._id, doc])));
    }
    return recorder;
  }

  take(): WriteCommand[] {
    const taken = this.commands;
    this.commands = [];
    return taken;
  }

  asDb(): Db {
    return this as unknown as Db;
  }

  collection(name: string) {
    const store = this.docs.get(name) ?? new Map<string, Doc>();
    this.docs.set(name, store);
    const keep = (doc: Doc) => {
      if (this.evolving.has(name)) store.set(doc._id, doc);
    };
    return {
      // An empty filter lists what the recorder holds: nothing but the evolving documents (the
      // projection lists its write intents in flight so; there are none here).
      find: (filter: Filter) => ({
        toArray: () => Promise.resolve(Object.keys(filter).length === 0 ? [...store.values()] : idsOf(filter, name).flatMap((id) => store.get(id) ?? [])),
      }),
      findOne: (filter: Filter) => Promise.resolve(idsOf(filter, name).map((id) => store.get(id) ?? null)[0] ?? null),
      insertOne: (doc: Doc) => {
        this.commands.push({ collection: name, method: 'insertMany', payload: [doc], options: {} });
        keep(doc);
        return Promise.resolve({ acknowledged: true, insertedId: doc._id });
      },
      deleteMany: (filter: Filter) => {
        this.commands.push({ collection: name, method: 'deleteMany', payload: [filter], options: {} });
        return Promise.resolve({ acknowledged: true, deletedCount: 0 });
      },
      deleteOne: (filter: Filter) => {
        this.commands.push({ collection: name, method: 'deleteMany', payload: [filter], options: {} });
        return Promise.resolve({ acknowledged: true, deletedCount: 0 });
      },
      replaceOne: (filter: Filter, doc: Doc) => {
        this.commands.push({ collection: name, method: 'bulkWrite', payload: [{ replaceOne: { filter, replacement: doc, upsert: true } }], options: {} });
        return Promise.resolve({ acknowledged: true, matchedCount: 1 });
      },
      estimatedDocumentCount: () => Promise.resolve(store.size),
      insertMany: (docs: Doc[], options: unknown) => {
        this.commands.push({ collection: name, method: 'insertMany', payload: docs, options });
        docs.forEach(keep);
        return Promise.resolve({ acknowledged: true, insertedCount: docs.length });
      },
      bulkWrite: (operations: AnyBulkWriteOperation<Doc>[], options: unknown) => {
        this.commands.push({ collection: name, method: 'bulkWrite', payload: operations, options });
        let matchedCount = 0;
        let insertedCount = 0;
        for (const operation of operations) {
          if ('replaceOne' in operation) {
            keep(operation.replaceOne.replacement as Doc);
            matchedCount += 1;
          } else if ('insertOne' in operation) {
            keep(operation.insertOne.document as Doc);
            insertedCount += 1;
          } else {
            throw new Error(`bench recorder: bulkWrite operation ${Object.keys(operation).join()} is not supported; extend bench/recorder.ts`);
          }
        }
        return Promise.resolve({ matchedCount, modifiedCount: matchedCount, insertedCount, upsertedCount: 0 });
      },
    };
  }
}

function idsOf(filter: Filter, collection: string): string[] {
  const id = filter._id;
  if (typeof id === 'string') return [id];
  if (id && typeof id === 'object' && '$in' in id && Array.isArray(id.$in)) return id.$in as string[];
  throw new Error(`bench recorder: find on ${collection} by ${JSON.stringify(filter)} is not supported; extend bench/recorder.ts`);
}

/** Milliseconds and documents per kind of write ("purchases insertMany", "stock bulkWrite", …). */
export type WriteTimings = Record<string, { ms: number; docs: number; commands: number }>;

/**
 * Sends recorded commands to MongoDB; returns the replaces that matched nothing (0 when
 * faithful). `timings` collects where the time went.
 */
export async function replay(db: Db, commands: readonly WriteCommand[], timings: WriteTimings = {}): Promise<number> {
  let unmatched = 0;
  for (const command of commands) {
    const collection = db.collection<Doc>(command.collection);
    const kind = `${command.collection} ${command.method}`;
    const started = performance.now();
    if (command.method === 'insertMany') {
      await collection.insertMany(command.payload as Doc[], command.options as object);
    } else if (command.method === 'deleteMany') {
      await collection.deleteMany((command.payload as [Filter])[0] as object);
    } else {
      const operations = command.payload as AnyBulkWriteOperation<Doc>[];
      const result = await collection.bulkWrite(operations, command.options as object);
      // Conditional replaces must all match. Upserts (the lease heartbeat) are never recorded in
      // one command with them, so their matches are not counted here.
      const conditional = operations.filter((operation) => 'replaceOne' in operation && !operation.replaceOne.upsert).length;
      if (conditional > 0) unmatched += conditional - result.matchedCount;
    }
    const entry = (timings[kind] ??= { ms: 0, docs: 0, commands: 0 });
    entry.ms += performance.now() - started;
    entry.docs += command.payload.length;
    entry.commands += 1;
  }
  return unmatched;
}
