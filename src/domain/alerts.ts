// Stock alerts, computed from current levels only: an item that was low and was restocked is
// no longer an alert. Pure: the caller brings the levels and remembers what it already raised.

import { stockStatus } from './stock-level.js';

export type AlertKind = 'out_of_stock' | 'low_stock';

export interface LevelRow {
  store: string;
  sku: string;
  level: number;
  threshold: number;
}

export interface Alert {
  key: string;
  store: string;
  sku: string;
  kind: AlertKind;
  level: number;
  threshold: number;
}

export function alertOf(row: LevelRow): Alert | null {
  const status = stockStatus(row.level, row.threshold);
  if (status === 'ok') return null;
  return {
    key: `${row.store}:${row.sku}`,
    store: row.store,
    sku: row.sku,
    kind: status === 'out' ? 'out_of_stock' : 'low_stock',
    level: row.level,
    threshold: row.threshold,
  };
}

export interface AlertDiff {
  raised: Alert[];
  cleared: Array<{ key: string; store: string; sku: string; level: number }>;
  active: Map<string, Alert>;
}

/** New alerts (or a low item that ran out) are raised once; items back above threshold clear. */
export function diffAlerts(active: ReadonlyMap<string, Alert>, rows: readonly LevelRow[]): AlertDiff {
  const next = new Map<string, Alert>();
  const raised: Alert[] = [];
  const cleared: AlertDiff['cleared'] = [];
  for (const row of rows) {
    const alert = alertOf(row);
    const key = `${row.store}:${row.sku}`;
    const before = active.get(key);
    if (alert) {
      next.set(key, alert);
      if (!before || before.kind !== alert.kind) raised.push(alert);
    } else if (before) {
      cleared.push({ key, store: row.store, sku: row.sku, level: row.level });
    }
  }
  return { raised, cleared, active: next };
}

function isAlertRecord(value: unknown): value is Alert & { event: 'raised' | 'cleared' } {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    (record.event === 'raised' || record.event === 'cleared') &&
    typeof record.key === 'string' &&
    typeof record.store === 'string' &&
    typeof record.sku === 'string' &&
    (record.event === 'cleared' || record.kind === 'out_of_stock' || record.kind === 'low_stock')
  );
}

/**
 * The alerts still raised after a history of `raised` / `cleared` records (as `alerts --follow`
 * produces them; in order per key), so that a watcher that restarts raises again only what
 * changed. Anything that is not such a record is ignored.
 */
export function activeAfter(records: Iterable<unknown>): Map<string, Alert> {
  const active = new Map<string, Alert>();
  for (const record of records) {
    if (!isAlertRecord(record)) continue;
    if (record.event === 'cleared') {
      active.delete(record.key);
      continue;
    }
    const { key, store, sku, kind, level, threshold } = record;
    active.set(key, { key, store, sku, kind, level, threshold });
  }
  return active;
}
