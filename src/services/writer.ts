import type { ShopEvent } from '../domain/events.js';
import type { Outcome } from '../domain/projector.js';
import { connectPublisher, type EventPublisher } from '../kafka/publisher.js';
import type { Database } from '../db/client.js';
import type { Config } from '../config/schema.js';
import type { Kafka } from 'kafkajs';
import { projectionOn } from './projection.js';
import { projectionSettings } from './projection-settings.js';

// One writer per path and process, shared by every caller that writes a few events at a time
// (a server's requests, a reservation): it keeps its connection open, and events written while
// a write is on its way go together in the next one (group commit). A hundred concurrent
// requests are a few bulk writes or produce requests, not a hundred round-trips.

/** What became of one event: the projection's outcome (db), or `published` (kafka). */
export type WriteOutcome = Outcome | { status: 'published' };

export interface EventWriter {
  readonly via: 'db' | 'kafka';
  /** Writes the events (with whatever else is waiting) and returns their outcomes, in order. */
  write(events: readonly ShopEvent[]): Promise<WriteOutcome[]>;
  /** Waits for the writes in flight, then closes the connection it opened. */
  close(): Promise<void>;
}

/** Events per write at most: a bulk write or a few produce requests. */
export const GROUP_MAX = 1000;

type Flush = (events: readonly ShopEvent[]) => Promise<WriteOutcome[]>;

interface Waiting {
  events: readonly ShopEvent[];
  resolve: (outcomes: WriteOutcome[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit over `flush`: one flush at a time; what arrives meanwhile waits and goes in the
 * next, up to `max` events (a caller's events are never split). A failed flush fails the callers
 * whose events it carried, and no others.
 */
export function groupCommit(flush: Flush, max = GROUP_MAX): { write: Flush; idle(): Promise<void> } {
  const queue: Waiting[] = [];
  let running: Promise<void> | null = null;
  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const group: Waiting[] = [];
      let size = 0;
      while (queue.length > 0 && (group.length === 0 || size + queue[0]!.events.length <= max)) {
        const next = queue.shift()!;
        group.push(next);
        size += next.events.length;
      }
      try {
        const outcomes = await flush(group.flatMap((waiting) => waiting.events));
        let at = 0;
        for (const waiting of group) {
          waiting.resolve(outcomes.slice(at, at + waiting.events.length));
          at += waiting.events.length;
        }
      } catch (error) {
        for (const waiting of group) waiting.reject(error);
      }
    }
  };
  return {
    write: (events) =>
      new Promise<WriteOutcome[]>((resolve, reject) => {
        if (events.length === 0) return resolve([]);
        queue.push({ events, resolve, reject });
        running ??= drain().finally(() => {
          running = null;
        });
      }),
    idle: async () => {
      while (running) await running;
    },
  };
}

/** The db path: the projection, with the outbox when configured. */
export function databaseWriter(database: Database, config: Config): EventWriter {
  const settings = projectionSettings(config);
  const projection = projectionOn(database, { rules: settings.rules });
  const group = groupCommit(async (events) => {
    const result = await projection.apply(
      events.map((event) => ({ event })),
      { outbox: settings.outbox },
    );
    return result.outcomes;
  });
  return { via: 'db', write: (events) => group.write(events), close: () => group.idle() };
}

/** The kafka path: one producer, connected on first use (a failed connection is tried again next time). */
export function kafkaWriter(kafka: Kafka, config: Config): EventWriter {
  let publisher: Promise<EventPublisher> | null = null;
  const connected = (): Promise<EventPublisher> =>
    (publisher ??= connectPublisher(kafka, config).catch((error: unknown) => {
      publisher = null;
      throw error;
    }));
  const group = groupCommit(async (events) => {
    await (await connected()).publish(events);
    return events.map(() => ({ status: 'published' as const }));
  });
  return {
    via: 'kafka',
    write: (events) => group.write(events),
    close: async () => {
      await group.idle();
      const open = publisher ? await publisher.catch(() => null) : null;
      await open?.disconnect();
    },
  };
}

/** The same writer, telling `onApplied` the events each write applied (not the duplicates, refusals or no-ops). */
export function observedWriter(writer: EventWriter, onApplied: (events: ShopEvent[]) => void): EventWriter {
  return {
    via: writer.via,
    write: async (events) => {
      const outcomes = await writer.write(events);
      const applied = events.filter((_event, index) => {
        const outcome = outcomes[index];
        return outcome?.status === 'applied' && !outcome.unchanged;
      });
      if (applied.length > 0) onApplied(applied);
      return outcomes;
    },
    close: () => writer.close(),
  };
}
