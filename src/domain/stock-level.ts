// The one "low stock" rule: `list stock` (LOW/OUT), `list stock --low` and `alerts` all ask here.
// Pure: the caller looks the threshold up (inventory.thresholds, else lowStockThreshold).

/** `ok` above the threshold; at or under it `low`, or `out` when nothing is left. */
export type StockStatus = 'ok' | 'low' | 'out';

export function stockStatus(level: number, threshold: number): StockStatus {
  if (level > threshold) return 'ok';
  return level === 0 ? 'out' : 'low';
}

/** At or under its threshold (out of stock included). */
export function isLowStock(level: number, threshold: number): boolean {
  return stockStatus(level, threshold) !== 'ok';
}
