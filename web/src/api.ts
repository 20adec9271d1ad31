// What the dashboard reads: the shop's HTTP API (server/routes.ts) and its live stream
// (GET /events, services/feed.ts). The shapes are restated here, not imported: the page is
// built for the browser on its own.

export interface Money {
  amount: number;
  currency: string;
}
export interface SalesRow {
  sku: string;
  name: string | null;
  quantity: number;
  revenue: Money | null;
}
export interface GlobalRow {
  sku: string;
  onHand: number;
  pending: number;
  available: number;
  availableAtStaleStores: number;
  stores: number;
  staleStores: number;
}
export type Freshness = 'fresh' | 'stale' | 'unknown';
export interface StockRow {
  store: string;
  sku: string;
  onHand: number;
  pending: number;
  available: number;
  status: 'ok' | 'low' | 'out';
  freshness: Freshness;
  ageMs: number | null;
  updatedAt: string;
}
export interface HistoryRow {
  time: string;
  event: string;
  type: string;
  store: string;
  sku: string;
  change: number | null;
  level: number;
}
export interface Health {
  status: 'ok' | 'unavailable';
  stores: { fresh: number; stale: number; unknown: number; list: Array<{ store: string; freshness: Freshness; ageMs: number | null }> };
}
export interface Product {
  sku: string;
  name: string;
}
// ---- analytics (GET /analytics/*) ----
export interface CapacityRow {
  store: string;
  city: string | null;
  lat: number | null;
  lon: number | null;
  capacity: number | null;
  onHand: number;
  usedPercent: number | null;
  sharePercent: number | null;
  freshness: Freshness | null;
}
export interface RangeRow {
  sku: string;
  store: string | null;
  level: number;
  maxLevel: number;
  percent: number | null;
}
export interface LowRow {
  sku: string;
  name?: string | null;
  available?: number;
  onHand?: number;
}
export interface TopSellerRow {
  sku: string;
  name?: string | null;
  quantity?: number;
  sold?: number;
}

// ---- the stream ----
export interface Alert {
  key: string;
  store: string;
  sku: string;
  kind: 'out_of_stock' | 'low_stock';
  level: number;
  threshold: number;
}
export interface AppliedMessage {
  kind: 'applied';
  at: string;
  count: number;
  byType: Record<string, number>;
  events: Array<{ type: string; subject?: string; data?: { sku?: string; store?: string } }>;
  truncated: boolean;
}
export interface AlertsMessage {
  kind: 'alerts';
  at: string;
  raised: Alert[];
  cleared: Array<{ key: string; store: string; sku: string; level: number }>;
  snapshot?: boolean;
}
export interface StatsMessage {
  kind: 'stats';
  at: string;
  eventsPerSecond: number;
  windowSeconds: number;
  applied: number;
  lag: number | null;
}

export type Fetched<T> = { state: 'ok'; data: T } | { state: 'missing' } | { state: 'error'; message: string };

/** GET a JSON answer; 404 of an endpoint this server does not have is `missing` (not an error). */
export async function getJson<T>(url: string, signal?: AbortSignal): Promise<Fetched<T>> {
  try {
    const response = await fetch(url, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
    const body = (await response.json().catch(() => null)) as unknown;
    if (response.ok || (url.startsWith('/healthz') && response.status === 503)) return { state: 'ok', data: body as T };
    const code = (body as { error?: { code?: string; message?: string } } | null)?.error;
    if (response.status === 404 && code?.code === 'not_found' && /no endpoint/.test(code.message ?? '')) return { state: 'missing' };
    return { state: 'error', message: code?.message ?? `HTTP ${response.status}` };
  } catch (error) {
    return { state: 'error', message: error instanceof Error ? error.message : String(error) };
  }
}
