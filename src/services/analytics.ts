import { salesReport, type SalesReportRow } from '../db/read-store.js';
import { findPositions, findStores, productNames, stockLines } from '../db/store-store.js';
import { capacityRows, lowRows, positionRows, rangeRows, type CapacityRow, type PositionRow, type RangeRow } from '../domain/analytics.js';
import { parseSince } from '../domain/since.js';
import type { Context } from './context.js';
import { rulesOf } from './projection-settings.js';

// `report position|capacity|range|low` and the API's /analytics/...: what the projection keeps
// (per-SKU positions, stock levels with their running maxima, store definitions), read as it
// stands now. Computed in domain/analytics.ts; nothing here re-reads history.

export type { CapacityRow, PositionRow, RangeRow } from '../domain/analytics.js';

/** Global position per SKU (or of one), most on hand first; at most `top`. */
export async function positionReport(context: Context, options: { sku?: string | undefined; top?: number | undefined }, now = new Date()): Promise<PositionRow[]> {
  const { db } = await context.database();
  const [positions, stores] = await Promise.all([findPositions(db, options.sku), findStores(db)]);
  const rows = positionRows(positions, stores, await productNames(db, positions.map((p) => p.sku)), rulesOf(context.config), now);
  return options.top === undefined ? rows : rows.slice(0, options.top);
}

/**
 * Capacity use per store, and each store's share of the chain's stock. Summed from the current
 * stock documents when read, not kept per store: a per-store sum would make every stock event of
 * a store (all its SKUs, spread over partitions) write one document, one writer at a time.
 */
export async function capacityReport(context: Context, now = new Date()): Promise<CapacityRow[]> {
  const { db } = await context.database();
  const [lines, stores] = await Promise.all([stockLines(db), findStores(db)]);
  return capacityRows(lines, stores, rulesOf(context.config), now);
}

/** Stock against its historical range, lowest first; at most `lowest`; `store`: that store's rows only. */
export async function rangeReport(context: Context, options: { lowest?: number | undefined; store?: string | undefined }): Promise<RangeRow[]> {
  const { db } = await context.database();
  const [positions, lines] = await Promise.all([options.store === undefined ? findPositions(db) : Promise.resolve([]), stockLines(db, options.store)]);
  const rows = rangeRows(positions, lines, options.store);
  return options.lowest === undefined ? rows : rows.slice(0, options.lowest);
}

/** The SKUs with the least available globally (at or under `below`), lowest first; at most `limit`. */
export async function lowReport(context: Context, options: { below?: number | undefined; limit?: number | undefined }, now = new Date()): Promise<PositionRow[]> {
  const rows = lowRows(await positionReport(context, {}, now), options.below);
  return options.limit === undefined ? rows : rows.slice(0, options.limit);
}

/** The best sellers over the last `window` (a duration such as 1h; all time when undefined). */
export async function topSellers(context: Context, options: { window?: string | undefined; top: number }, now = new Date()): Promise<SalesReportRow[] | null> {
  let since: string | undefined;
  if (options.window !== undefined) {
    const at = parseSince(options.window, now);
    if (!at) return null;
    since = at.toISOString();
  }
  const { db } = await context.database();
  return salesReport(db, { top: options.top, since });
}
