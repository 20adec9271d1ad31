import type { ProjectionTarget } from '../db/projection-store.js';
import type { ShopEvent } from '../domain/events.js';
import type { RejectReason } from '../domain/projector.js';
import { connectPublisher, type EncodedChunk } from '../kafka/publisher.js';
import type { Context } from './context.js';
import { projectionOn } from './projection.js';
import { projectionSettings, type ProjectionSettings } from './projection-settings.js';

export interface Rejection {
  event: ShopEvent;
  reason: RejectReason;
  message: string;
}

export interface SinkTotals {
  written: number;
  duplicates: number;
  rejected: Rejection[];
  /** Events whose id was applied before with other content (not applied). */
  conflicts: Array<{ event: ShopEvent; message: string }>;
}

/** What a sink takes: events, or (Kafka only) events a generator thread encoded already. */
export type Chunk = readonly ShopEvent[] | EncodedChunk;

export function isEncoded(chunk: Chunk): chunk is EncodedChunk {
  return 'messages' in chunk;
}

export function chunkSize(chunk: Chunk): number {
  return isEncoded(chunk) ? chunk.messages.length : chunk.length;
}

// Where a writing command's events go. Both paths take the same events; only the transport
// differs: the db sink projects them now, the kafka sink publishes them for `consume`.
export interface EventSink {
  readonly via: 'db' | 'kafka';
  readonly target: string;
  write(chunk: Chunk): Promise<void>;
  totals(): SinkTotals;
  close(): Promise<void>;
}

export async function openSink(context: Context, via: 'db' | 'kafka'): Promise<EventSink> {
  if (via === 'db') {
    return dbSink(await context.database(), context.config.mongodb.db, projectionSettings(context.config));
  }
  const publisher = await connectPublisher(context.kafka(), context.config);
  const totals: SinkTotals = { written: 0, duplicates: 0, rejected: [], conflicts: [] };
  return {
    via,
    target: context.config.kafka.brokers.join(','),
    async write(chunk) {
      await (isEncoded(chunk) ? publisher.publishEncoded(chunk) : publisher.publish(chunk));
      totals.written += chunkSize(chunk);
    },
    totals: () => totals,
    close: () => publisher.disconnect(),
  };
}

export function dbSink(target: ProjectionTarget, name: string, settings: ProjectionSettings): EventSink {
  const totals: SinkTotals = { written: 0, duplicates: 0, rejected: [], conflicts: [] };
  const projection = projectionOn(target, { rules: settings.rules });
  return {
    via: 'db',
    target: name,
    async write(chunk) {
      // Projecting needs the events themselves; encoded chunks are made for Kafka only.
      if (isEncoded(chunk)) throw new Error('the db path takes events, not encoded messages');
      const events = chunk;
      const result = await projection.apply(
        events.map((event) => ({ event })),
        { outbox: settings.outbox },
      );
      result.outcomes.forEach((outcome, index) => {
        const event = events[index];
        if (!event) return;
        if (outcome.status === 'applied') totals.written += 1;
        else if (outcome.status === 'duplicate') totals.duplicates += 1;
        else if (outcome.reason === 'id_conflict') totals.conflicts.push({ event, message: outcome.message });
        else totals.rejected.push({ event, reason: outcome.reason, message: outcome.message });
      });
    },
    totals: () => totals,
    close: () => Promise.resolve(),
  };
}
