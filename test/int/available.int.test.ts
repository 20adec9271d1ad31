import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { projectionOn } from '../../src/services/projection.js';
import { rulesOf } from '../../src/services/projection-settings.js';
import { worlds, type World } from '../helpers/worlds.js';

// `list stock` with pending holds and available-to-promise (a safety margin in units and in
// percent), and `--global` summed over stores with its stale ones counted. The holds are made by
// applying reservation requests straight through the projection (the decision is the store's,
// in the projector); the reading is the built CLI.

let n = 0;
const at = (time = new Date()) => ({ id: `avail-${Date.now()}-${++n}`, time: time.toISOString(), source: 'test' });
const product = (sku: string) => createEvent('shop.product.added.v1', { sku, name: sku, category: 'Tools', price: { amount: 100, currency: 'EUR' } }, at());
const received = (store: string, sku: string, quantity: number) => createEvent('shop.stock.received.v1', { store, sku, quantity }, at());
const hold = (store: string, sku: string, quantity: number) =>
  createEvent(
    'shop.reservation.requested.v1',
    { reservationId: `r-${++n}`, customerId: 'c-1', store, sku, quantity, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    at(),
  );
const heartbeat = (store: string, time: Date) => createEvent('shop.store.heartbeat.v1', { store }, at(time));

interface StockRow {
  store: string;
  sku: string;
  level: number;
  pending: number;
  margin: number;
  available: number;
  freshness: string;
}

interface GlobalRow {
  sku: string;
  onHand: number;
  pending: number;
  available: number;
  stores: number;
  staleStores: number;
  availableAtStaleStores: number;
}

describe('available to promise', () => {
  const { world, cleanUp } = worlds('avail');
  afterAll(cleanUp);

  /**
   * Three stores: `units` (safety margin 2 units, the default; fresh), `pct` (10 %; never sent
   * a heartbeat: unknown) and `old` (2 units; its last heartbeat 10 minutes ago: stale).
   */
  async function shop(): Promise<World> {
    const each = await world();
    each.config.availability = { ...each.config.availability, safetyMargin: 2, margins: { pct: '10%' }, staleAfterSeconds: 30 };
    await writeFile(each.file, stringify(each.config));
    const projection = projectionOn(each.mongo, { rules: rulesOf(each.config) });
    const events: ShopEvent[] = [
      product('SKU-A'),
      product('SKU-B'),
      received('units', 'SKU-A', 20),
      received('pct', 'SKU-A', 50),
      received('pct', 'SKU-B', 7),
      received('old', 'SKU-A', 10),
      hold('units', 'SKU-A', 5),
      hold('pct', 'SKU-A', 4),
      heartbeat('units', new Date()),
      heartbeat('old', new Date(Date.now() - 600_000)),
    ];
    const result = await projection.apply(events.map((event) => ({ event })));
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(events.map(() => 'applied'));
    return each;
  }

  const json = <T>(text: string): T => JSON.parse(text) as T;

  it('list stock: pending, margin (units and percent, rounded up) and available; a stale store marked', async () => {
    const each = await shop();
    const listed = await each.cli('list', 'stock', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const rows = json<StockRow[]>(listed.stdout).filter((row) => row.store !== each.config.inventory.defaultStore);
    expect(rows.map(({ store, sku, level, pending, margin, available, freshness }) => ({ store, sku, level, pending, margin, available, freshness }))).toEqual([
      { store: 'old', sku: 'SKU-A', level: 10, pending: 0, margin: 2, available: 8, freshness: 'stale' },
      { store: 'pct', sku: 'SKU-A', level: 50, pending: 4, margin: 5, available: 41, freshness: 'unknown' },
      { store: 'pct', sku: 'SKU-B', level: 7, pending: 0, margin: 1, available: 6, freshness: 'unknown' },
      { store: 'units', sku: 'SKU-A', level: 20, pending: 5, margin: 2, available: 13, freshness: 'fresh' },
    ]);

    const table = await each.cli('list', 'stock', '--sku', 'SKU-A');
    expect(table.code, table.stderr).toBe(0);
    const line = (store: string) => table.stdout.split('\n').find((row) => row.startsWith(`│ ${store} `)) ?? '';
    expect(line('old')).toMatch(/│\s+10 │\s+0 │\s+8 \(stale\) │/);
    expect(line('units')).toMatch(/│\s+20 │\s+5 │\s+13 │/);
    expect(line('pct')).toMatch(/│\s+50 │\s+4 │\s+41 │/);
    expect(table.stdout).toContain('(stale): no heartbeat from the store for over 30s: may not be available');

    // The existing filters still apply.
    const low = json<StockRow[]>((await each.cli('list', 'stock', '--store', 'pct', '--low', '--json')).stdout);
    expect(low).toEqual([]);
    const one = json<StockRow[]>((await each.cli('list', 'stock', '--store', 'units', '--json')).stdout);
    expect(one.map((row) => row.sku)).toEqual(['SKU-A']);
  });

  it('list stock --global: one row per SKU summed over stores, stale stores counted, and what they hold of the available', async () => {
    const each = await shop();
    const listed = await each.cli('list', 'stock', '--global', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(json<GlobalRow[]>(listed.stdout)).toEqual([
      { sku: 'SKU-A', onHand: 80, pending: 9, available: 62, stores: 3, staleStores: 1, availableAtStaleStores: 8, inCatalogue: true },
      { sku: 'SKU-B', onHand: 7, pending: 0, available: 6, stores: 1, staleStores: 0, availableAtStaleStores: 0, inCatalogue: true },
    ]);
    const table = await each.cli('list', 'stock', '--global');
    expect(table.stdout).toMatch(/│ SKU-A\s+│\s+80 │\s+9 │\s+62 \(8 stale\) │\s+3 │\s+1 STALE │/);
    expect(table.stdout).toMatch(/│ SKU-B\s+│\s+7 │\s+0 │\s+6 │\s+1 │\s+0 │/);
    expect(table.stdout).toContain('2 of 2 SKUs');
    expect(table.stdout).toContain('(N stale): N units at stores with no heartbeat for over 30s: may not be available');

    const one = json<GlobalRow[]>((await each.cli('list', 'stock', '--global', '--sku', 'SKU-B', '--json')).stdout);
    expect(one.map((row) => row.sku)).toEqual(['SKU-B']);
    const mixed = await each.cli('list', 'stock', '--global', '--low');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--low does not go with --global/);

    // `stores` agrees: per store, the same units, the stale one first.
    const stores = json<Array<{ store: string; freshness: string; skus: number; onHand: number; pending: number; available: number }>>((await each.cli('stores', '--json')).stdout);
    expect(stores.map(({ store, freshness, skus, onHand, pending, available }) => ({ store, freshness, skus, onHand, pending, available }))).toEqual([
      { store: 'old', freshness: 'stale', skus: 1, onHand: 10, pending: 0, available: 8 },
      { store: 'units', freshness: 'fresh', skus: 1, onHand: 20, pending: 5, available: 13 },
      { store: 'pct', freshness: 'unknown', skus: 2, onHand: 57, pending: 4, available: 47 },
    ]);
  });
});
