import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { projectionOn } from '../../src/services/projection.js';
import { rulesOf } from '../../src/services/projection-settings.js';
import { waitFor } from '../helpers/env.js';
import { call, curl, get, post, servers, type ErrorBody, type Served } from '../helpers/serve.js';
import { worlds, type World } from '../helpers/worlds.js';

// `shopctl serve --via db` as a client sees it: the built binary on a real port, against the
// local stack, in a world of its own (database, topics, group). Every endpoint, each of its
// statuses, the inventory case study's calls as its client (curl) sends them, and the limits.
// Auth, the stream and stopping: serve-stream.int.test.ts; the Kafka path: serve-kafka.int.test.ts.

interface Product {
  sku: string;
  name: string;
  price: { amount: number; currency: string };
}
interface StockRow {
  store: string;
  sku: string;
  onHand: number;
  pending: number;
  available: number;
  status: string;
  freshness: 'fresh' | 'stale' | 'unknown';
  ageMs: number | null;
  lastHeartbeat: string | null;
  inCatalogue: boolean;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const { world, cleanUp } = worlds('serve');
const { serve, stopAll } = servers();
let shop: World;
let server: Served;
let url: string;
let products: Product[];
let customers: string[];

const fieldsOf = (body: unknown): string[] => (body as ErrorBody).error.details.map((detail) => detail.field ?? '');
let n = 0;
const ctx = (time = new Date()) => ({ id: `serve-test-${Date.now()}-${++n}`, time: time.toISOString(), source: 'test' });

beforeAll(async () => {
  shop = await world();
  for (const args of [
    ['make', 'products', '--count', '25', '--seed', '41', '--via', 'db'],
    ['make', 'customers', '--count', '23', '--seed', '42', '--via', 'db'],
    ['buy', '--random', '--count', '30', '--seed', '43', '--via', 'db'],
  ]) {
    const made = await shop.cli(...args);
    expect(made.code, made.stderr).toBe(0);
  }
  server = await serve(shop);
  url = server.url;
  products = (await get<Page<Product>>(url, '/products?limit=1000')).body.items;
  customers = (await get<Page<{ id: string }>>(url, '/customers?limit=1000')).body.items.map((c) => c.id);
  expect(products).toHaveLength(25);
  expect(customers).toHaveLength(23);
});

afterAll(async () => {
  await stopAll();
  await cleanUp();
});

describe('serve --via db', () => {
  it('says where it listens, answers /healthz with both services and the stores, and /openapi.json describes every path', async () => {
    expect(server.banner).toMatch(/^serving http:\/\/127\.0\.0\.1:\d+ \(writes --via db\)$/);
    const health = await get<{ status: string; kafka: { reachable: boolean }; mongodb: { reachable: boolean }; stores: { list: Array<{ store: string; freshness: string }>; unknown: number } }>(url, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', kafka: { reachable: true, error: null }, mongodb: { reachable: true, error: null } });
    // `make products` received stock at the default store, which never sent a heartbeat.
    expect(health.body.stores.list).toContainEqual({ store: 'online', freshness: 'unknown', ageMs: null });

    const openapi = await get<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(url, '/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.body.openapi).toBe('3.1.0');
    const paths = Object.keys(openapi.body.paths).sort();
    expect(paths).toEqual(
      [
        '/analytics/capacity',
        '/analytics/low',
        '/analytics/position',
        '/analytics/range',
        '/analytics/top-sellers',
        '/customers',
        '/events',
        '/healthz',
        '/inventory',
        '/products',
        '/purchases',
        '/reservation',
        '/reservation/{id}',
        '/sales',
        '/stock',
        '/stock/count',
        '/stock/global',
        '/stock/history',
        '/stock/receive',
        '/stock/sell',
      ].sort(),
    );
    const operations = Object.entries(openapi.body.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ at: `${method} ${path}`, op })));
    expect(operations.length).toBeGreaterThanOrEqual(16);
    for (const { at, op } of operations) expect(Object.keys(op.responses), at).toContain('default');
    // No token on this server: the document asks for none.
    expect(JSON.stringify(openapi.body)).not.toContain('"security"');
  });

  it('takes the inventory case study\'s calls as its client sends them: curl --form, then curl GET /inventory', async () => {
    const sku = 'SKU-CURL-1';
    const sent = await curl(['--form', 'availableQuantity=10', '--form', `productID=${sku}`, `${url}/inventory`]);
    expect(sent.status, sent.body).toBe(200);
    expect(JSON.parse(sent.body)).toMatchObject({ status: 'applied', via: 'db', productID: sku, availableQuantity: 10, store: 'online' });
    const listed = await curl([`${url}/inventory`]);
    expect(listed.status).toBe(200);
    const rows = JSON.parse(listed.body) as Array<{ productID: string; availableQuantity: number }>;
    expect(rows).toContainEqual({ productID: sku, availableQuantity: 10 });
    // Every product made with 1,000 units at the default store is there too, one row each.
    expect(rows.filter((row) => products.some((p) => p.sku === row.productID)).every((row) => row.availableQuantity <= 1000)).toBe(true);
    expect(new Set(rows.map((row) => row.productID)).size).toBe(rows.length);

    // A count sets the level: a second one replaces it.
    expect((await curl(['--form', 'availableQuantity=4', '--form', `productID=${sku}`, `${url}/inventory`])).status).toBe(200);
    // urlencoded (curl -d) and JSON, as other clients send it.
    const urlencoded = await curl(['-d', 'availableQuantity=7&productID=SKU-CURL-2', `${url}/inventory`]);
    expect(urlencoded.status, urlencoded.body).toBe(200);
    const json = await post(url, '/inventory', { productID: 'SKU-CURL-3', availableQuantity: 0 });
    expect(json.status, json.text).toBe(200);
    const after = (await get<Array<{ productID: string; availableQuantity: number }>>(url, '/inventory')).body;
    expect(after.filter((row) => row.productID.startsWith('SKU-CURL-'))).toEqual([
      { productID: 'SKU-CURL-1', availableQuantity: 4 },
      { productID: 'SKU-CURL-2', availableQuantity: 7 },
      { productID: 'SKU-CURL-3', availableQuantity: 0 },
    ]);
    expect((await get(url, '/inventory?store=nowhere')).body).toEqual([]);
  });

  it('refuses an invalid inventory call with 400, naming the field, and writes nothing', async () => {
    const cases: Array<{ args: string[]; field: string; says: RegExp }> = [
      { args: ['--form', 'productID=SKU-BAD'], field: 'body.availableQuantity', says: /Required/ },
      { args: ['--form', 'availableQuantity=3'], field: 'body.productID', says: /Required/ },
      { args: ['--form', 'availableQuantity=ten', '--form', 'productID=SKU-BAD'], field: 'body.availableQuantity', says: /number/i },
      { args: ['--form', 'availableQuantity=1.5', '--form', 'productID=SKU-BAD'], field: 'body.availableQuantity', says: /integer/i },
      { args: ['--form', 'availableQuantity=-1', '--form', 'productID=SKU-BAD'], field: 'body.availableQuantity', says: /greater than or equal to 0/ },
      { args: ['-d', 'availableQuantity=2&productID=SKU-BAD&warehouse=x'], field: 'body.warehouse', says: /warehouse/ },
      { args: ['--form', 'availableQuantity=2', '--form', 'productID=SKU-BAD', '--form', 'note=hi'], field: 'body.note', says: /note/ },
    ];
    for (const { args, field, says } of cases) {
      const answer = await curl([...args, `${url}/inventory`]);
      expect(answer.status, `${args.join(' ')}: ${answer.body}`).toBe(400);
      const body = JSON.parse(answer.body) as ErrorBody;
      expect(body.error.code).toBe('invalid_request');
      expect(fieldsOf(body), args.join(' ')).toContain(field);
      expect(body.error.message).toMatch(says);
      expect(body.error.details.every((detail) => typeof detail.message === 'string' && detail.message.length > 0)).toBe(true);
    }
    const json = await post(url, '/inventory', { productID: 'SKU-BAD', availableQuantity: '5' });
    expect(json.status).toBe(400);
    expect(fieldsOf(json.body)).toEqual(['body.availableQuantity']);
    // Each unknown field is named, each in its own detail.
    const extra = await post(url, '/inventory', { productID: 'SKU-BAD', availableQuantity: 5, warehouse: 'x', note: 'y' });
    expect(extra.status).toBe(400);
    expect(fieldsOf(extra.body).sort()).toEqual(['body.note', 'body.warehouse']);
    const rows = (await get<Array<{ productID: string }>>(url, '/inventory')).body;
    expect(rows.map((row) => row.productID)).not.toContain('SKU-BAD');
  });

  it('counts purchases made through POST /purchases in GET /sales (units and revenue), and refuses unknown references with 422', async () => {
    const product = products[24]!;
    const bought = await post<{ status: string; total: { amount: number } }>(url, '/purchases', { customer: customers[0], product: product.sku, quantity: 40 });
    expect(bought.status, bought.text).toBe(200);
    expect(bought.body).toMatchObject({ status: 'applied', via: 'db', customer: customers[0], sku: product.sku, store: 'online', quantity: 40, total: { amount: product.price.amount * 40, currency: product.price.currency } });
    const form = await curl(['--form', `customer=${customers[1]}`, '--form', `product=${product.sku}`, '--form', 'quantity=2', `${url}/purchases`]);
    expect(form.status, form.body).toBe(200);
    // A store sale counts as units sold, without revenue.
    expect((await post(url, '/stock/sell', { sku: product.sku, quantity: 1 })).status).toBe(200);

    const sales = await get<Array<{ sku: string; name: string; quantity: number; revenue: { amount: number; currency: string } | null }>>(url, '/sales?top=1000');
    expect(sales.status).toBe(200);
    const row = sales.body.find((each) => each.sku === product.sku);
    // `buy --random` in the set-up may have bought this product too: counted from the database.
    const earlier = await shop.mongo.db.collection<{ sku: string; quantity: number }>('purchases').find({ sku: product.sku }).toArray();
    const units = earlier.reduce((sum, p) => sum + p.quantity, 0);
    expect(row).toEqual({ sku: product.sku, name: product.name, quantity: units + 1, revenue: { amount: units * product.price.amount, currency: product.price.currency } });
    expect(sales.body[0]!.sku).toBe(product.sku); // 43 units or more: the top seller
    expect(sales.body.map((each) => each.quantity)).toEqual([...sales.body.map((each) => each.quantity)].sort((a, b) => b - a));
    expect((await get<unknown[]>(url, '/sales?top=2')).body).toHaveLength(2);
    expect((await get<unknown[]>(url, '/sales?since=1h')).body.length).toBeGreaterThanOrEqual(1);
    const badSince = await get(url, '/sales?since=yesterday-ish');
    expect(badSince.status).toBe(400);
    expect(fieldsOf(badSince.body)).toEqual(['query.since']);

    const nobody = await post<ErrorBody>(url, '/purchases', { customer: 'nobody-here', product: product.sku });
    expect(nobody.status).toBe(422);
    expect(nobody.body.error).toMatchObject({ code: 'unknown_reference', message: expect.stringContaining("unknown customer 'nobody-here'") as unknown });
    const nothing = await post<ErrorBody>(url, '/purchases', { customer: customers[0], product: 'SKU-NOT-SOLD-HERE' });
    expect(nothing.status).toBe(422);
    expect(nothing.body.error.code).toBe('unknown_reference');
    const zero = await post(url, '/purchases', { customer: customers[0], product: product.sku, quantity: 0 });
    expect(zero.status).toBe(400);
    expect(fieldsOf(zero.body)).toEqual(['body.quantity']);
  });

  it('POST /stock/receive|sell|count apply at once (200); selling more than on hand is 422 insufficient_stock and changes nothing', async () => {
    const sku = 'SKU-STOCK-1';
    const received = await post(url, '/stock/receive', { store: 'lyon', sku, quantity: 12 });
    expect(received.status, received.text).toBe(200);
    expect(received.body).toMatchObject({ status: 'applied', via: 'db', store: 'lyon', sku, eventId: expect.any(String) as unknown });
    expect((await post(url, '/stock/sell', { store: 'lyon', sku, quantity: 5 })).status).toBe(200);
    const tooMany = await post<ErrorBody>(url, '/stock/sell', { store: 'lyon', sku, quantity: 8 });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error).toMatchObject({ code: 'insufficient_stock', message: expect.stringMatching(/requested 8, available 7/) as unknown, details: [] });
    const counted = await call(url, 'POST', '/stock/count', { urlencoded: { store: 'paris', sku, level: '3' } });
    expect(counted.status, counted.text).toBe(200);
    // The default store when none is named.
    expect((await post(url, '/stock/receive', { sku, quantity: 2 })).body).toMatchObject({ store: 'online' });

    const stock = await get<Page<StockRow>>(url, `/stock?sku=${sku}`);
    expect(stock.status).toBe(200);
    expect(stock.body.nextCursor).toBeNull();
    expect(stock.body.items.map((row) => [row.store, row.onHand, row.available, row.status])).toEqual([
      ['lyon', 7, 7, 'ok'],
      ['online', 2, 2, 'low'],
      ['paris', 3, 3, 'low'],
    ]);
    expect(stock.body.items[0]).toMatchObject({ pending: 0, inCatalogue: false, freshness: 'unknown', ageMs: null, lastHeartbeat: null });
    const lyon = await get<Page<StockRow>>(url, `/stock?sku=${sku}&store=lyon`);
    expect(lyon.body.items).toHaveLength(1);
    const global = await get<Array<Record<string, unknown>>>(url, `/stock/global?sku=${sku}`);
    expect(global.body).toEqual([{ sku, onHand: 12, pending: 0, available: 12, stores: 3, staleStores: 0, availableAtStaleStores: 0, inCatalogue: false }]);

    for (const [path, body, field] of [
      ['/stock/receive', { sku, quantity: 0 }, 'body.quantity'],
      ['/stock/sell', { sku }, 'body.quantity'],
      ['/stock/count', { sku, level: -1 }, 'body.level'],
      ['/stock/count', { sku, quantity: 1 }, 'body.level'],
      ['/stock/receive', { store: 'a/b', sku, quantity: 1 }, 'body.store'],
    ] as const) {
      const bad = await post(url, path, body);
      expect(bad.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(fieldsOf(bad.body)).toContain(field);
    }
    expect((await get<Page<StockRow>>(url, `/stock?sku=${sku}&store=lyon`)).body.items[0]!.onHand).toBe(7);
  });

  it('pages GET /stock with limit and cursor, every row once; tells fresh, stale and unknown stores apart', async () => {
    const sku = 'SKU-FRESH-1';
    // Heartbeats straight through the projection: one ten minutes ago (stale: the SLA is 30 s), one now.
    const old = new Date(Date.now() - 600_000);
    const events: ShopEvent[] = [
      createEvent('shop.store.heartbeat.v1', { store: 'oldtown' }, ctx(old)),
      createEvent('shop.store.heartbeat.v1', { store: 'newtown' }, ctx()),
      ...['oldtown', 'newtown', 'online'].map((store, i) => createEvent('shop.stock.received.v1', { store, sku, quantity: 10 + i }, ctx())),
    ];
    const result = await projectionOn(shop.mongo, { rules: rulesOf(shop.config) }).apply(events.map((event) => ({ event })));
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);

    const rows = (await get<Page<StockRow>>(url, `/stock?sku=${sku}`)).body.items;
    const by = new Map(rows.map((row) => [row.store, row]));
    expect(by.get('oldtown')).toMatchObject({ onHand: 10, freshness: 'stale', lastHeartbeat: old.toISOString() });
    expect(by.get('oldtown')!.ageMs!).toBeGreaterThanOrEqual(600_000);
    expect(by.get('newtown')).toMatchObject({ onHand: 11, freshness: 'fresh' });
    expect(by.get('newtown')!.ageMs!).toBeLessThan(30_000);
    expect(by.get('online')).toMatchObject({ onHand: 12, freshness: 'unknown', ageMs: null, lastHeartbeat: null });
    const global = await get<Array<Record<string, unknown>>>(url, `/stock/global?sku=${sku}`);
    expect(global.body).toEqual([expect.objectContaining({ onHand: 33, available: 33, stores: 3, staleStores: 1, availableAtStaleStores: 10 })]);
    const health = await waitFor(
      async () => {
        const body = (await get<{ stores: { list: Array<{ store: string; freshness: string }> } }>(url, '/healthz')).body;
        return body.stores.list.some((row) => row.store === 'oldtown') ? body : undefined;
      },
      5_000,
      '/healthz to list oldtown',
    );
    expect(health.stores.list).toEqual(expect.arrayContaining([expect.objectContaining({ store: 'oldtown', freshness: 'stale' }), expect.objectContaining({ store: 'newtown', freshness: 'fresh' })]));

    // Paging everything, two rows at a time: the pages together are the whole listing, in order.
    const whole = (await get<Page<StockRow>>(url, '/stock?limit=1000')).body;
    expect(whole.nextCursor).toBeNull();
    expect(whole.items.length).toBeGreaterThan(25);
    const paged: StockRow[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page<StockRow> = (await get<Page<StockRow>>(url, `/stock?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);
    expect(paged.map((row) => `${row.store}:${row.sku}`)).toEqual(whole.items.map((row) => `${row.store}:${row.sku}`));
    expect(pages).toBe(Math.ceil(whole.items.length / 2));

    // Reserving at a stale store is refused, unless asked for all the same.
    const stale = await post<ErrorBody>(url, '/reservation', { customer: 'c-1', sku, store: 'oldtown', quantity: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('store_stale');
    const anyway = await post(url, '/reservation', { customer: 'c-1', sku, store: 'oldtown', quantity: 1, allowStale: true });
    expect(anyway.status).toBe(202);
    expect(anyway.body).toMatchObject({ status: 'rejected', reason: 'unknown_sku' }); // not in the catalogue

    for (const query of ['limit=0', 'limit=1001', 'limit=2.5', 'sku=%24gt', 'cursor=%21%21', 'store=a%2Fb']) {
      const bad = await get(url, `/stock?${query}`);
      expect(bad.status, query).toBe(400);
      expect((bad.body as ErrorBody).error.code).toBe('invalid_request');
      expect(fieldsOf(bad.body)[0], query).toMatch(/^query\./);
    }
  });
});
