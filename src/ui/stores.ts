import { stripVTControlCharacters } from 'node:util';
import { formatDuration, type FreshnessState } from '../domain/availability.js';
import type { HeartbeatResult, StoresView } from '../services/stores.js';
import type { Output } from './output.js';
import { textWidth } from './text.js';
import { renderTable, shortTime, type Column } from './table.js';

// How freshness looks wherever a store's stock is shown: `stores`, `list stock`, `store heartbeat`.

/** STALE in capitals (as OUT and LOW are in `list stock`): the one that needs looking at. */
export const freshnessLabel = (state: FreshnessState): string => (state === 'stale' ? 'STALE' : state);

/** An available-to-promise cell: the number, marked when its store is stale. */
export const availableCell = (available: number, freshness: FreshnessState): string => (freshness === 'stale' ? `${available} (stale)` : String(available));

/** The note under a table that has rows of stale stores (short: it fits an 80-column terminal). */
export function staleNote(staleAfterMs: number): string {
  return `(stale): no heartbeat from the store for over ${formatDuration(staleAfterMs)}: may not be available`;
}

/**
 * A table fitted to the terminal by leaving columns out, when cutting cells is not enough: the
 * `optional` headers, first to last, until it fits (numbers and ids are never cut, so a table of
 * them can only get narrower this way). Under it, which were left out. Without a width (a pipe,
 * --wide) every column is shown.
 */
export function renderDropping<Row>(rows: readonly Row[], columns: readonly Column<Row>[], optional: readonly string[], output: Output): string {
  const { width } = output;
  let shown = [...columns];
  let table = renderTable(rows, shown, output);
  const fits = (text: string) => width === undefined || text.split('\n').every((line) => textWidth(stripVTControlCharacters(line)) <= width);
  const left: string[] = [];
  for (const header of optional) {
    if (fits(table)) break;
    shown = shown.filter((column) => column.header !== header);
    left.push(header);
    table = renderTable(rows, shown, output);
  }
  return left.length === 0 ? table : `${table}\n(left out to fit: ${left.join(', ')}; --wide shows all)`;
}

const sinceHeard = (ageMs: number | null): string => (ageMs === null ? '-' : formatDuration(ageMs));

/** A row of `stores --json`: the table's columns under the same names, with numbers as numbers. */
export function storeJson(row: StoresView['stores'][number]) {
  return {
    store: row.store,
    lastHeartbeat: row.lastHeartbeat,
    age: row.ageMs === null ? null : formatDuration(row.ageMs),
    ageMs: row.ageMs,
    freshness: row.freshness,
    lastStockChange: row.lastStockChange,
    skus: row.skus,
    onHand: row.onHand,
    pending: row.pending,
    available: row.available,
    capacity: row.capacity,
    city: row.city,
  };
}

export function printStores(output: Output, view: StoresView): void {
  if (view.stores.length === 0) {
    output.data('no stores yet: none sent a heartbeat and none has stock');
    return;
  }
  output.data(
    renderDropping(
      view.stores,
      [
        { header: 'store', value: (r) => r.store, keep: true },
        { header: 'last heartbeat', value: (r) => r.lastHeartbeat ?? 'never', fitted: (r) => (r.lastHeartbeat ? shortTime(r.lastHeartbeat) : 'never'), keep: true },
        { header: 'age', value: (r) => sinceHeard(r.ageMs), align: 'right' },
        { header: 'freshness', value: (r) => freshnessLabel(r.freshness) },
        { header: 'last stock change', value: (r) => r.lastStockChange ?? '-', fitted: (r) => (r.lastStockChange ? shortTime(r.lastStockChange) : '-'), keep: true },
        { header: 'skus', value: (r) => r.skus, align: 'right' },
        { header: 'on hand', value: (r) => r.onHand, align: 'right' },
        { header: 'pending', value: (r) => r.pending, align: 'right' },
        { header: 'available', value: (r) => availableCell(r.available, r.freshness), align: 'right' },
        { header: 'capacity', value: (r) => (r.capacity === null ? '-' : r.capacity), align: 'right' },
        { header: 'city', value: (r) => r.city ?? '-' },
      ],
      ['city', 'capacity', 'last stock change', 'last heartbeat', 'skus'],
      output,
    ),
  );
  const count = (state: FreshnessState) => view.stores.filter((row) => row.freshness === state).length;
  const stale = count('stale');
  output.data(
    `${view.stores.length} ${view.stores.length === 1 ? 'store' : 'stores'}: ${stale} stale, ${count('fresh')} fresh, ${count('unknown')} unknown (no heartbeat yet); stale after ${formatDuration(view.staleAfterMs)}`,
  );
  if (stale > 0) output.data(staleNote(view.staleAfterMs));
}

/** One line per heartbeat sent (`store heartbeat` without --json). */
export const heartbeatLine = (store: string, beat: { n: number; time: string }): string => `${beat.time}  heartbeat ${beat.n}  store ${store}`;

export function printHeartbeatSummary(output: Output, result: HeartbeatResult, json: boolean): void {
  if (json) {
    output.json(result);
    return;
  }
  const stopped = result.interrupted ? 'stopped' : 'done';
  const sent = `${result.sent} ${result.sent === 1 ? 'heartbeat' : 'heartbeats'}`;
  const verb = result.via === 'kafka' ? `published to Kafka at ${result.target}` : `written to database '${result.target}'`;
  output.info(`${stopped}: ${sent} of store ${result.store} ${verb} in ${formatDuration(result.elapsedMs)}`);
}
