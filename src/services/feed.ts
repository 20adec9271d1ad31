import { diffAlerts, type Alert, type AlertDiff, type LevelRow } from '../domain/alerts.js';
import type { ShopEvent } from '../domain/events.js';

// What the server's live stream (`GET /events`) carries: the events this process applied (its
// own --via db writes, and with `serve --consume` the events it projects from Kafka), one
// message per applied batch, and the stock alerts they raised or cleared. Nothing polls: the
// alerts are worked out again after applied events that may move a level, at most once per
// `alertsEveryMs`, and only while someone listens. A new listener is first told the alerts that
// are open (a snapshot), then what changes. While someone listens, a `stats` message about once a
// second says how many events per second were applied lately and, when the server consumes, the
// consumer group's lag (asked of Kafka: no database is read for it).

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
  /** True: `raised` is every open alert (sent to a new listener first), not a change. */
  snapshot: boolean;
}

export interface StreamStats {
  kind: 'stats';
  at: string;
  /** Events applied per second over the last `windowSeconds`. */
  eventsPerSecond: number;
  windowSeconds: number;
  /** Events applied since the server started. */
  applied: number;
  /** The consumer group's lag (events on its topics not committed yet); null without --consume or when Kafka did not answer. */
  lag: number | null;
}

export type FeedMessage = AppliedBatch | AlertChange | StreamStats;

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
  /** The consumer group's lag (serve --consume), asked at most once per stats message. */
  lag?: () => Promise<number>;
  /** How often stats are sent while someone listens (default 1000 ms; 0: never). */
  statsEveryMs?: number;
  onError?: (error: unknown) => void;
}

/** Over how many seconds the applied rate is averaged. */
export const RATE_WINDOW_SECONDS = 5;

/** Events applied per whole second (epoch seconds), the last `RATE_WINDOW_SECONDS` + 1 kept. */
export function createRate(windowSeconds = RATE_WINDOW_SECONDS) {
  const buckets = new Map<number, number>();
  let total = 0;
  return {
    add(count: number, atMs: number): void {
      const second = Math.floor(atMs / 1000);
      buckets.set(second, (buckets.get(second) ?? 0) + count);
      total += count;
      for (const key of buckets.keys()) if (key < second - windowSeconds) buckets.delete(key);
    },
    /** The mean over the last `windowSeconds` whole seconds before `atMs` (the current one, still filling, left out). */
    perSecond(atMs: number): number {
      const now = Math.floor(atMs / 1000);
      let sum = 0;
      for (const [second, count] of buckets) if (second >= now - windowSeconds && second < now) sum += count;
      return Math.round((sum / windowSeconds) * 10) / 10;
    },
    total: () => total,
  };
}

export function createFeed(deps: FeedDeps): Feed {
  const listeners = new Set<(message: FeedMessage) => void>();
  const now = deps.now ?? (() => new Date());
  const every = deps.alertsEveryMs ?? 300;
  let active: Map<string, Alert> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let again = false;
  // Listeners that have not had their snapshot of open alerts yet.
  const waiting = new Set<(message: FeedMessage) => void>();
  const rate = createRate();
  const statsEvery = deps.statsEveryMs ?? 1000;
  let statsTimer: NodeJS.Timeout | undefined;
  let lag: number | null = null;
  let askingLag = false;

  const send = (message: FeedMessage): void => {
    for (const listener of listeners) listener(message);
  };
  const snapshot = (listener: (message: FeedMessage) => void): void => {
    listener({ kind: 'alerts', at: now().toISOString(), raised: [...(active ?? new Map<string, Alert>()).values()], cleared: [], snapshot: true });
  };
  const stats = (): void => {
    const at = now();
    send({ kind: 'stats', at: at.toISOString(), eventsPerSecond: rate.perSecond(at.getTime()), windowSeconds: RATE_WINDOW_SECONDS, applied: rate.total(), lag });
    // The lag sent is the one learnt by the message before (Kafka answers in a few ms; a slow
    // answer is not waited for, and not asked twice).
    if (deps.lag && !askingLag) {
      askingLag = true;
      deps.lag().then(
        (value) => {
          lag = value;
          askingLag = false;
        },
        (error: unknown) => {
          lag = null;
          askingLag = false;
          deps.onError?.(error);
        },
      );
    }
  };
  const startStats = (): void => {
    if (statsTimer || statsEvery <= 0) return;
    statsTimer = setInterval(stats, statsEvery);
    statsTimer.unref();
  };
  const stopStats = (): void => {
    clearInterval(statsTimer);
    statsTimer = undefined;
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
        send({ kind: 'alerts', at: now().toISOString(), raised: diff.raised, cleared: diff.cleared, snapshot: false });
      }
      active = diff.active;
      for (const listener of waiting) if (listeners.has(listener)) snapshot(listener);
      waiting.clear();
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
      if (events.length === 0) return;
      rate.add(events.length, now().getTime());
      if (listeners.size === 0) return;
      const byType: Record<string, number> = {};
      for (const event of events) byType[event.type] = (byType[event.type] ?? 0) + 1;
      send({ kind: 'applied', at: now().toISOString(), count: events.length, byType, events: events.slice(0, EVENTS_PER_MESSAGE), truncated: events.length > EVENTS_PER_MESSAGE });
      if (events.some((event) => MOVES_LEVELS.test(event.type))) schedule();
    },
    subscribe(listener) {
      listeners.add(listener);
      startStats();
      if (active === null) {
        waiting.add(listener);
        if (!checking) void check();
      } else {
        snapshot(listener);
      }
      return () => {
        listeners.delete(listener);
        waiting.delete(listener);
        if (listeners.size === 0) {
          clearTimeout(timer);
          timer = undefined;
          active = null;
          stopStats();
        }
      };
    },
    listeners: () => listeners.size,
    close() {
      clearTimeout(timer);
      timer = undefined;
      stopStats();
      listeners.clear();
      waiting.clear();
    },
  };
}
