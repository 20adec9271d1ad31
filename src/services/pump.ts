import { setTimeout as sleep } from 'node:timers/promises';
import { chunkSize, type Chunk, type EventSink } from './sinks.js';

export interface PumpOptions {
  /** Events per second at most; undefined: as fast as the sink takes them. */
  rate?: number | undefined;
  onProgress?: (count: number, elapsedMs: number) => void;
  signal?: AbortSignal;
}

export interface PumpResult {
  count: number;
  elapsedMs: number;
}

/** Chunk size for a rate: about twenty sends a second, never more than 1000 events each. */
export function chunkForRate(rate: number | undefined, max = 1000): number {
  if (rate === undefined) return max;
  return Math.max(1, Math.min(max, Math.ceil(rate / 20)));
}

// Feeds chunks of events to a sink, pacing them when a rate is set (the schedule is kept
// against the start time, so a slow send is caught up rather than accumulated). Chunks come
// from a generator (made here, on demand) or from an async source such as a generator thread.
export async function pump(chunks: Iterable<Chunk> | AsyncIterable<Chunk>, sink: EventSink, options: PumpOptions = {}): Promise<PumpResult> {
  const start = Date.now();
  let count = 0;
  const iterator = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  try {
    let next = await iterator.next();
    while (!next.done) {
      if (options.signal?.aborted) break;
      const chunk = next.value;
      // Make the next chunk while this one is on its way (making is CPU, sending is I/O);
      // the sink still sees one write at a time, in order.
      const sending = sink.write(chunk);
      sending.catch(() => undefined);
      const following = Promise.resolve(iterator.next());
      following.catch(() => undefined);
      await sending;
      count += chunkSize(chunk);
      options.onProgress?.(count, Date.now() - start);
      if (options.rate !== undefined) {
        const due = start + (count * 1000) / options.rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
      next = await following;
    }
  } finally {
    await iterator.return?.();
  }
  return { count, elapsedMs: Date.now() - start };
}
