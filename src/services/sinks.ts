import { applyEvents, type ProjectionTarget } from '../db/projection-store.js';
import { withStockLocks } from '../db/stock-locks.js';
import { writesOf } from '../domain/projector.js';
import type { ShopEvent } from '../domain/events.js';
import type { RejectReason } from '../domain/projector.js';
import { connectPublisher } from '../kafka/publisher.js';
import type { Context } from './context.js';

export interface Rejection {
  event: ShopEvent;
  reason: RejectReason;
  message: string;
}

export interface SinkTotals {
  written: number;
  duplicates: number;
  rejected: Rejection[];
}

// Where a writing command's events go. Both paths take the same events; only the transport
// differs: the db sink projects them now, the kafka sink publishes them for `consume`.
export interface EventSink {
  readonly via: 'db' | 'kafka';
  readonly target: string;
  write(events: readonly ShopEvent[]): Promise<void>;
  totals(): SinkTotals;
  close(): Promise<void>;
}

export async function openSink(context: Context, via: 'db' | 'kafka'): Promise<EventSink> {
  if (via === 'db') {
    return dbSink(await context.database(), context.config.mongodb.db);
  }
  const publisher = await connectPublisher(context.kafka(), context.config);
  const totals: SinkTotals = { written: 0, duplicates: 0, rejected: [] };
  return {
    via,
    target: context.config.kafka.brokers.join(','),
    async write(events) {
      await publisher.publish(events);
      totals.written += events.length;
    },
    totals: () => totals,
    close: () => publisher.disconnect(),
  };
}

export function dbSink(target: ProjectionTarget, name: string): EventSink {
  const totals: SinkTotals = { written: 0, duplicates: 0, rejected: [] };
  return {
    via: 'db',
    target: name,
    async write(events) {
      // Other processes may write the same stock levels at the same time: take their leases.
      const keys = events.flatMap((event) => writesOf(event).filter((ref) => ref.collection === 'stock').map((ref) => ref.id));
      const result = await withStockLocks(target.db, keys, () => applyEvents(target, events.map((event) => ({ event }))));
      result.outcomes.forEach((outcome, index) => {
        const event = events[index];
        if (!event) return;
        if (outcome.status === 'applied') totals.written += 1;
        else if (outcome.status === 'duplicate') totals.duplicates += 1;
        else totals.rejected.push({ event, reason: outcome.reason, message: outcome.message });
      });
    },
    totals: () => totals,
    close: () => Promise.resolve(),
  };
}
