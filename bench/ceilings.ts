import type { Kafka, Message } from 'kafkajs';
import type { Db } from 'mongodb';
import type { ServerTraits } from '../src/db/client.js';
import { ensureIndexes } from '../src/db/collections.js';
import { projectionOn } from '../src/services/projection.js';
import { collectionNames } from '../src/domain/documents.js';
import type { PurchaseMade } from '../src/domain/events.js';
import type { ProjectionInput } from '../src/domain/projector.js';
import { positionKey } from '../src/kafka/codec.js';
import { RecordingDb, replay, type Doc, type WriteTimings } from './recorder.js';
import { byPartition, cycledId, encodePool, PROJECTOR_CHUNK, safeBatchSize, throughput, type Throughput } from './workload.js';

export interface ProduceVariant {
  batch: number;
  inFlight: number;
}

export interface ProduceCeiling extends Throughput {
  batch: number;
  inFlight: number;
  variants: Array<ProduceVariant & Throughput>;
}

/**
 * kafkajs at its best on this stack: pre-encoded messages (encodeEvent, so shopctl's key, value
 * and headers), the largest batches the broker accepts, acks=all, no compression. A plain
 * producer, not idempotent. The ceiling is the best of a few batch/concurrency settings.
 */
export async function produceCeiling(kafka: Kafka, topic: string, messages: readonly Message[], count: number): Promise<ProduceCeiling> {
  const batch = safeBatchSize(messages);
  const variants: ProduceVariant[] = [
    { batch, inFlight: 1 },
    { batch, inFlight: 2 },
  ];
  const results: Array<ProduceVariant & Throughput> = [];
  for (const variant of variants) results.push({ ...variant, ...(await produce(kafka, topic, messages, count, variant)) });
  const best = results.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  return { ...best, variants: results };
}

async function produce(kafka: Kafka, topic: string, messages: readonly Message[], count: number, variant: ProduceVariant): Promise<Throughput> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // One warm-up request: connection and metadata are not what is measured.
    await producer.send({ topic, acks: -1, messages: messages.slice(0, 10) });
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (next < count) {
        const size = Math.min(variant.batch, count - next);
        const from = next % messages.length;
        next += size;
        const slice = messages.slice(from, from + size);
        const batch = slice.length === size ? slice : slice.concat(messages.slice(0, size - slice.length));
        await producer.send({ topic, acks: -1, messages: batch });
      }
    };
    await Promise.all(Array.from({ length: variant.inFlight }, worker));
    return throughput(count, performance.now() - started);
  } finally {
    await producer.disconnect();
  }
}

export interface WriteCeiling extends Throughput {
  /** Write commands sent. */
  commands: number;
  /** Events per chunk, as the consumer applies them. */
  chunk: number;
  /** Events the projection did not apply while recording (should be 0). */
  notApplied: number;
  /** Replaces that matched no document on replay (should be 0). */
  unmatched: number;
  /** Where the write time went, per collection and command. */
  timings: WriteTimings;
}

/**
 * MongoDB at its best for the projection's own writes. For each chunk of events of one
 * partition (as the consumer gets them), the projection runs against a recorder that answers its
 * reads from memory and keeps its write commands; those pre-built commands (the journal and
 * purchase inserts, one replace per changed document, in commands of `updatesPerCommand`) are
 * then sent to an empty database with shopctl's indexes. Only the time in those writes counts:
 * no Kafka, no reads, no decoding or deciding.
 */
export async function writeCeiling(
  target: { db: Db; server: ServerTraits },
  source: Db,
  events: readonly PurchaseMade[],
  count: number,
  options: { partitions: number; topic: string },
): Promise<WriteCeiling> {
  if (events.length === 0) throw new Error('write ceiling: no events');
  const { db, server } = target;
  await ensureIndexes(db, server);
  // The ceiling database starts with the same customers, products (and whatever else evolves)
  // as the database consume wrote to.
  for (const name of collectionNames) {
    const docs = await source.collection<Doc>(name).find({}).toArray();
    if (docs.length > 0) await db.collection<Doc>(name).insertMany(docs);
  }
  const recorder = await RecordingDb.mirror(db);
  const projection = projectionOn({ db: recorder.asDb(), server });
  const partitions = byPartition(encodePool(events), options.partitions);
  const offsets = partitions.map(() => 0);
  let written = 0;
  let cycle = 0;
  let commands = 0;
  let notApplied = 0;
  let unmatched = 0;
  let spent = 0;
  const timings: WriteTimings = {};
  while (written < count) {
    for (let p = 0; p < partitions.length && written < count; p += 1) {
      const indexes = partitions[p] ?? [];
      const key = positionKey(options.topic, p);
      for (let start = 0; start < indexes.length && written < count; start += PROJECTOR_CHUNK) {
        const inputs: ProjectionInput[] = indexes
          .slice(start, Math.min(start + PROJECTOR_CHUNK, start + count - written))
          .map((index) => events[index]!)
          .map((event) => ({ event: { ...event, id: cycledId(event.id, cycle) }, position: { key, offset: offsets[p]!++ } }));
        const { outcomes } = await projection.apply(inputs, { holder: `bench:${key}` });
        notApplied += outcomes.filter((outcome) => outcome.status !== 'applied').length;
        const recorded = recorder.take();
        const started = performance.now();
        unmatched += await replay(db, recorded, timings);
        spent += performance.now() - started;
        commands += recorded.length;
        written += inputs.length;
      }
    }
    cycle += 1;
  }
  return { ...throughput(written, spent), commands, chunk: PROJECTOR_CHUNK, notApplied, unmatched, timings };
}
