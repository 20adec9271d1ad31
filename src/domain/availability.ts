// Available-to-promise and store freshness, as pure rules: what a store may still promise to a
// reservation, and whether the central view has heard from a store recently enough to trust its
// numbers. No clock here: "now" is always passed in.

/** Units kept back for walk-in customers: a number of units, or a percentage of what is on hand. */
export type Margin = { units: number } | { percent: number };

export const NO_MARGIN: Margin = { units: 0 };
export const MARGIN_RULE = "a whole number of units (e.g. 2) or a percentage of the units on hand (e.g. '10%')";

/** Reads `2`, `'2'` or `'10%'`; null when it is neither. */
export function parseMargin(value: unknown): Margin | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 1_000_000_000 ? { units: value } : null;
  if (typeof value !== 'string') return null;
  const percent = /^\s*(\d{1,3}(?:\.\d{1,4})?)\s*%\s*$/.exec(value);
  if (percent) {
    const p = Number(percent[1]);
    return p <= 100 ? { percent: p } : null;
  }
  return /^\s*\d{1,10}\s*$/.test(value) ? parseMargin(Number(value)) : null;
}

export const formatMargin = (margin: Margin): string => ('units' in margin ? String(margin.units) : `${margin.percent}%`);

/** The units a margin keeps back at this level (a percentage rounds up: never promise a part unit). */
// In whole millionths of the level (a percentage has at most 4 decimals), so that 1.1 % of 3,000
// is 33 and not 33.000000000000004 rounded up to 34.
export function marginUnits(margin: Margin, level: number): number {
  if ('units' in margin) return margin.units;
  const millionths = Math.round(margin.percent * 10_000);
  return Math.ceil((Math.max(0, level) * millionths) / 1_000_000);
}

/** available = on hand - pending holds - safety margin, never below 0. */
export function availableToPromise(level: number, pending: number, margin: Margin): number {
  return Math.max(0, level - pending - marginUnits(margin, level));
}

// ---------------------------------------------------------------------------------------------
// Freshness

/** The instant a time names, in ms (event times may carry any offset: compare instants, never text). */
export const instantOf = (time: string): number => Date.parse(time);

export type FreshnessState = 'fresh' | 'stale' | 'unknown';

export interface Freshness {
  state: FreshnessState;
  /** Milliseconds since the last heartbeat (null: never heard). */
  ageMs: number | null;
}

/**
 * A store whose last heartbeat is older than the SLA is stale. One that never sent a heartbeat
 * is not watched: its freshness is unknown (shown as such, never taken as stale, so a shop
 * without heartbeats works as before).
 */
export function freshnessOf(lastHeartbeat: string | undefined | null, now: Date, staleAfterMs: number): Freshness {
  if (!lastHeartbeat) return { state: 'unknown', ageMs: null };
  const ageMs = Math.max(0, now.getTime() - instantOf(lastHeartbeat));
  return { state: ageMs > staleAfterMs ? 'stale' : 'fresh', ageMs };
}

// ---------------------------------------------------------------------------------------------
// What the projection needs to decide a reservation

export interface AvailabilityRules {
  /** The safety margin of a store (its own, or the default). */
  marginFor(store: string): Margin;
  /** A store whose heartbeat is older than this is stale. */
  staleAfterMs: number;
}

export const DEFAULT_RULES: AvailabilityRules = { marginFor: () => NO_MARGIN, staleAfterMs: 30_000 };

export function availabilityRules(options: { safetyMargin: Margin; margins?: Readonly<Record<string, Margin>>; staleAfterMs: number }): AvailabilityRules {
  const margins = options.margins ?? {};
  return {
    marginFor: (store) => (Object.hasOwn(margins, store) ? (margins[store] as Margin) : options.safetyMargin),
    staleAfterMs: options.staleAfterMs,
  };
}

// ---------------------------------------------------------------------------------------------
// Event ids of a reservation's steps: derived from the reservation id, so that the same step
// sent twice (a retried command, two expiry sweeps) is one event, applied once.

export type ReservationStepKind = 'requested' | 'decided' | 'fulfilled' | 'cancelled' | 'expired';
export const reservationEventId = (kind: ReservationStepKind, reservationId: string): string => `rsv.${kind}.${reservationId}`;

// ---------------------------------------------------------------------------------------------
// Durations (--ttl 15m, --every 5s)

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const DURATION_RULE = 'a number with a unit: ms, s, m, h or d (e.g. 500ms, 30s, 15m, 2h)';

/** Milliseconds of `30s`, `15m`, `1.5h`, `500ms`; null when it is not one. */
export function parseDuration(value: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) return null;
  const ms = Number(match[1]) * (UNITS[match[2] as string] as number);
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

/** 90000 -> "1m 30s", 1500 -> "1.5s", 900000 -> "15m": an age or a duration for people. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const seconds = Math.round(ms / 1000);
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) => (small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${small}${smallUnit}`);
  if (seconds < 3600) return two(Math.floor(seconds / 60), 'm', seconds % 60, 's');
  if (seconds < 86_400) return two(Math.floor(seconds / 3600), 'h', Math.floor((seconds % 3600) / 60), 'm');
  return two(Math.floor(seconds / 86_400), 'd', Math.floor((seconds % 86_400) / 3600), 'h');
}
