import { diffAlerts, type Alert, type AlertDiff, type LevelRow } from '../domain/alerts.js';
import type { ShopEvent } from '../domain/events.js';

// What the server's live stream (`GET /events`) carries: the events this process applied (its
// own --via db writes, and with `serve --consume` the events it projects from Kafka), one
// message per applied batch, and the stock alerts they raised or cleared. Nothing polls: the
// alerts are worked out again after applied events that may move a level, at most once per
// `alertsEveryMs`, and only while someone listens.

export interface AppliedBatch {
  kind: 'applied';
  at: string;
  count: number;
  byType: Record<string, number>;
  /** The first events of the batch (a big batch is summarised by `count` and `byType`). */
  events: ShopEvent[];
  truncated: boolean;
}

export interface AlertChange {
  kind: 'alerts';
  at: string;
  raised: Alert[];
  cleared: AlertDiff['cleared'];
}

export type FeedMessage = AppliedBatch | AlertChange;

export interface Feed {
  /** Events just applied (in order). */
  applied(events: readonly ShopEvent[]): void;
  /** Listens until the returned function is called. */
  subscribe(listener: (message: FeedMessage) => void): () => void;
  listeners(): number;
  /** Stops the pending alert check. */
  close(): void;
}

export const EVENTS_PER_MESSAGE = 100;

const MOVES_LEVELS = /^shop\.(stock|purchase|reservation)\./;

export interface FeedDeps {
  /** The current levels (for alerts); read once per check. */
  levels: () => Promise<LevelRow[]>;
  now?: () => Date;
  alertsEveryMs?: number;
  onError?: (error: unknown) => void;
}

export function createFeed(deps: FeedDeps): Feed {
  const listeners = new Set<(message: FeedMessage) => void>();
  const now = deps.now ?? (() => new Date());
  const every = deps.alertsEveryMs ?? 300;
  let active: Map<string, Alert> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let again = false;

  const send = (message: FeedMessage): void => {
    for (const listener of listeners) listener(message);
  };
  const check = async (): Promise<void> => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      const rows = await deps.levels();
      const diff = diffAlerts(active ?? new Map(), rows);
      // The first check only learns what is raised already: a new listener is told what changes.
      if (active !== null && (diff.raised.length > 0 || diff.cleared.length > 0)) {
        send({ kind: 'alerts', at: now().toISOString(), raised: diff.raised, cleared: diff.cleared });
      }
      active = diff.active;
    } catch (error) {
      deps.onError?.(error);
    } finally {
      checking = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = (): void => {
    if (timer || listeners.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void check();
    }, every);
    timer.unref();
  };

  return {
    applied(events) {
      if (events.length === 0 || listeners.size === 0) return;
      const byType: Record<string, number> = {};
      for (const event of events) byType[event.type] = (byType[event.type] ?? 0) + 1;
      send({ kind: 'applied', at: now().toISOString(), count: events.length, byType, events: events.slice(0, EVENTS_PER_MESSAGE), truncated: events.length > EVENTS_PER_MESSAGE });
      if (events.some((event) => MOVES_LEVELS.test(event.type))) schedule();
    },
    subscribe(listener) {
      listeners.add(listener);
      if (active === null) void check();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          clearTimeout(timer);
          timer = undefined;
          active = null;
        }
      };
    },
    listeners: () => listeners.size,
    close() {
      clearTimeout(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}
