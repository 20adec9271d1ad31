import { availableToPromise, freshnessOf, type AvailabilityRules, type FreshnessState } from './availability.js';
import type { PositionDoc, StoreDoc } from './documents.js';

// The analytics reports as pure functions over what the projection keeps: the per-SKU positions
// (sums over stores and the running maximum of the summed on-hand), the stock documents' levels
// and running maxima, and the stores' capacity, location and heartbeat. Nothing here re-reads
// history; the clock (`now`) comes in.

/** A percentage with one decimal, or null when there is nothing to divide by. */
export function percentOf(part: number, whole: number | null | undefined): number | null {
  if (whole === null || whole === undefined || whole <= 0) return null;
  return Math.round((part / whole) * 1000) / 10;
}

export type StoreInfo = Pick<StoreDoc, '_id' | 'lastHeartbeat' | 'capacity' | 'lat' | 'lon' | 'city'>;

export interface PositionRow {
  sku: string;
  name: string | null;
  onHand: number;
  pending: number;
  /** The sum of each store's available-to-promise (its own safety margin). */
  available: number;
  /** The highest summed on-hand the projection ever applied (never below onHand). */
  maxOnHand: number;
  /** onHand as a percentage of maxOnHand (one decimal); null when it never had any. */
  rangePercent: number | null;
  stores: number;
  staleStores: number;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Global positions per SKU, most on hand first (then by SKU). */
export function positionRows(
  positions: readonly PositionDoc[],
  stores: readonly StoreInfo[],
  names: ReadonlyMap<string, string>,
  rules: AvailabilityRules,
  now: Date,
): PositionRow[] {
  const heartbeat = new Map(stores.map((store) => [store._id, store.lastHeartbeat]));
  const stale = (store: string) => freshnessOf(heartbeat.get(store), now, rules.staleAfterMs).state === 'stale';
  return positions
    .map((position) => {
      const maxOnHand = Math.max(position.maxOnHand, position.onHand);
      return {
        sku: position.sku,
        name: names.get(position.sku) ?? null,
        onHand: position.onHand,
        pending: position.pending,
        available: position.parts.reduce((sum, part) => sum + availableToPromise(part.level, part.pending, rules.marginFor(part.store)), 0),
        maxOnHand,
        rangePercent: percentOf(position.onHand, maxOnHand),
        stores: position.parts.length,
        staleStores: position.parts.filter((part) => stale(part.store)).length,
      };
    })
    .sort((a, b) => b.onHand - a.onHand || byText(a.sku, b.sku));
}

export interface CapacityRow {
  store: string;
  city: string | null;
  lat: number | null;
  lon: number | null;
  /** Units it can hold; null: never defined (`stores add`). */
  capacity: number | null;
  onHand: number;
  /** onHand as a percentage of capacity; null without a capacity. */
  usedPercent: number | null;
  /** Its share of the chain's units on hand; null when the chain has none. */
  sharePercent: number | null;
  freshness: FreshnessState;
}

/**
 * Per store: units on hand against its capacity, and its share of the whole chain's stock. The
 * sums come from the current stock levels (`levels`: one per store and SKU), not from history.
 * Every store known (defined, heard from, or holding stock), most used first, then by id.
 */
export function capacityRows(levels: ReadonlyArray<{ store: string; level: number }>, stores: readonly StoreInfo[], rules: Pick<AvailabilityRules, 'staleAfterMs'>, now: Date): CapacityRow[] {
  const onHand = new Map<string, number>();
  for (const line of levels) onHand.set(line.store, (onHand.get(line.store) ?? 0) + line.level);
  for (const store of stores) if (!onHand.has(store._id)) onHand.set(store._id, 0);
  const total = [...onHand.values()].reduce((sum, units) => sum + units, 0);
  const info = new Map(stores.map((store) => [store._id, store]));
  return [...onHand]
    .map(([store, units]) => {
      const known = info.get(store);
      const capacity = known?.capacity ?? null;
      return {
        store,
        city: known?.city ?? null,
        lat: known?.lat ?? null,
        lon: known?.lon ?? null,
        capacity,
        onHand: units,
        usedPercent: percentOf(units, capacity),
        sharePercent: percentOf(units, total),
        freshness: freshnessOf(known?.lastHeartbeat, now, rules.staleAfterMs).state,
      };
    })
    .sort((a, b) => (b.usedPercent ?? -1) - (a.usedPercent ?? -1) || byText(a.store, b.store));
}

export interface RangeRow {
  sku: string;
  /** null: the global position (summed over stores). */
  store: string | null;
  level: number;
  maxLevel: number;
  /** level as a percentage of maxLevel; null when it never had any. */
  percent: number | null;
}

/**
 * Stock against its historical range: each SKU's global position and each store's level, as a
 * percentage of the highest it ever had. Lowest first (those that never had any last), then SKU,
 * the global row before the stores'. `store`: that store's rows only.
 */
export function rangeRows(positions: readonly PositionDoc[], levels: ReadonlyArray<{ store: string; sku: string; level: number; maxLevel: number }>, store?: string): RangeRow[] {
  const rows: RangeRow[] = [];
  if (store === undefined) {
    for (const position of positions) {
      const maxLevel = Math.max(position.maxOnHand, position.onHand);
      rows.push({ sku: position.sku, store: null, level: position.onHand, maxLevel, percent: percentOf(position.onHand, maxLevel) });
    }
  }
  for (const line of levels) {
    if (store !== undefined && line.store !== store) continue;
    const maxLevel = Math.max(line.maxLevel, line.level);
    rows.push({ sku: line.sku, store: line.store, level: line.level, maxLevel, percent: percentOf(line.level, maxLevel) });
  }
  const rank = (row: RangeRow) => row.percent ?? Number.POSITIVE_INFINITY;
  return rows.sort((a, b) => rank(a) - rank(b) || byText(a.sku, b.sku) || (a.store === null ? -1 : b.store === null ? 1 : byText(a.store, b.store)));
}

/** The SKUs with the least available globally, at or under `below` units (all when undefined), lowest first. */
export function lowRows(rows: readonly PositionRow[], below?: number): PositionRow[] {
  return rows.filter((row) => below === undefined || row.available <= below).sort((a, b) => a.available - b.available || a.onHand - b.onHand || byText(a.sku, b.sku));
}
