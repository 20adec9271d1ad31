import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, get, post, servers, type ErrorBody, type Served } from '../helpers/serve.js';
import { worlds, type World } from '../helpers/worlds.js';

// `shopctl serve --via db`: reservations, the shop's listings page by page, and what the server
// refuses before any handler runs (limits, media types, operators, methods, paths), with its
// request ids and access log. The built binary on a real port, in a world of its own.

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface Reservation {
  id: string;
  status: string;
  changed?: boolean;
  reason: string | null;
  customer: string;
  store: string;
  sku: string;
  quantity: number;
  expiresAt: string;
}
interface StockRow {
  onHand: number;
  pending: number;
  available: number;
}

const { world, cleanUp } = worlds('serve-shop');
const { serve, stopAll } = servers();
let shop: World;
let server: Served;
let url: string;
let sku: string;

const fieldsOf = (body: unknown): string[] => (body as ErrorBody).error.details.map((detail) => detail.field ?? '');
const stockOf = async (): Promise<StockRow> => (await get<Page<StockRow>>(url, `/stock?sku=${sku}&store=online`)).body.items[0]!;

beforeAll(async () => {
  shop = await world();
  for (const args of [
    ['make', 'products', '--count', '12', '--seed', '51', '--stock', '100', '--via', 'db'],
    ['make', 'customers', '--count', '17', '--seed', '52', '--via', 'db'],
    ['buy', '--random', '--count', '45', '--seed', '53', '--via', 'db'],
  ]) {
    const made = await shop.cli(...args);
    expect(made.code, made.stderr).toBe(0);
  }
  server = await serve(shop);
  url = server.url;
  sku = (await get<Page<{ sku: string }>>(url, '/products?limit=1')).body.items[0]!.sku;
});

afterAll(async () => {
  await stopAll();
  await cleanUp();
});

/** Every page of a listing, `limit` rows at a time, following nextCursor. */
async function allPages<T>(path: string, limit: number): Promise<{ rows: T[]; pages: number }> {
  const rows: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  const join = path.includes('?') ? '&' : '?';
  do {
    const page: Page<T> = (await get<Page<T>>(url, `${path}${join}limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`)).body;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    rows.push(...page.items);
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor !== null && pages < 200);
  return { rows, pages };
}

describe('serve --via db: reservations', () => {
  it('POST /reservation: 202 with Location, GET it, DELETE cancels (200) and releases the hold, a second DELETE is 409', async () => {
    const before = await stockOf();
    const made = await post<Reservation>(url, '/reservation', { customer: 'c-1', sku, quantity: 3, id: 'order-1', ttlSeconds: 600 });
    expect(made.status, made.text).toBe(202);
    expect(made.headers.get('location')).toBe('/reservation/order-1');
    expect(made.body).toMatchObject({ id: 'order-1', status: 'confirmed', changed: true, reason: null, customer: 'c-1', store: 'online', sku, quantity: 3, via: 'db', eventId: 'rsv.requested.order-1' });
    const expiresIn = Date.parse(made.body.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(590_000);
    expect(expiresIn).toBeLessThanOrEqual(600_000);
    expect(await stockOf()).toMatchObject({ onHand: before.onHand, pending: before.pending + 3, available: before.available - 3 });

    const shown = await get<Reservation>(url, made.headers.get('location')!);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ id: 'order-1', status: 'confirmed', quantity: 3, expiresAt: made.body.expiresAt });

    // The same request again is answered from the first; the same id for another is a conflict.
    const again = await post<Reservation>(url, '/reservation', { customer: 'c-1', sku, quantity: 3, id: 'order-1', ttlSeconds: 600 });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: 'order-1', status: 'confirmed', changed: false, expiresAt: made.body.expiresAt });
    const other = await post<ErrorBody>(url, '/reservation', { customer: 'c-1', sku, quantity: 4, id: 'order-1' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'id_conflict', message: expect.stringContaining("reservation id 'order-1' is taken by another request") as unknown });
    expect((await stockOf()).pending).toBe(before.pending + 3);

    const cancelled = await call<Reservation>(url, 'DELETE', '/reservation/order-1');
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ id: 'order-1', status: 'cancelled', changed: true, via: 'db' });
    expect(await stockOf()).toMatchObject({ onHand: before.onHand, pending: before.pending });
    expect((await get<Reservation>(url, '/reservation/order-1')).body.status).toBe('cancelled');
    const twice = await call<ErrorBody>(url, 'DELETE', '/reservation/order-1');
    expect(twice.status).toBe(409);
    expect(twice.body.error).toMatchObject({ code: 'reservation_closed', message: "reservation 'order-1' is cancelled already", details: [] });
  });

  it('answers unknown reservations 404, refused ones 202 rejected, and invalid requests 400 naming the field', async () => {
    for (const method of ['GET', 'DELETE']) {
      const missing = await call<ErrorBody>(url, method, '/reservation/no-such-order');
      expect(missing.status, method).toBe(404);
      expect(missing.body.error.message).toBe("no reservation 'no-such-order'");
      expect(missing.body.error.code).toMatch(/not_found$/);
    }
    const tooMany = await post<Reservation>(url, '/reservation', { customer: 'c-2', sku, quantity: 5000 });
    expect(tooMany.status).toBe(202);
    expect(tooMany.body).toMatchObject({ status: 'rejected', reason: 'insufficient_stock', changed: true });
    expect(tooMany.headers.get('location')).toBe(`/reservation/${tooMany.body.id}`);
    expect((await get<Reservation>(url, `/reservation/${tooMany.body.id}`)).body.status).toBe('rejected');

    const cases: Array<[unknown, string]> = [
      [{ sku, quantity: 1 }, 'body.customer'],
      [{ customer: 'c-2', sku, quantity: 0 }, 'body.quantity'],
      [{ customer: 'c-2', sku, quantity: 1, ttlSeconds: 0 }, 'body.ttlSeconds'],
      [{ customer: 'c-2', sku, quantity: 1, id: 'r'.repeat(101) }, 'body.id'],
      [{ customer: 'c-2', sku: { $ne: null }, quantity: 1 }, 'body.sku'],
      [{ customer: 'c-2', sku, quantity: 1, allowStale: 'yes' }, 'body.allowStale'],
    ];
    for (const [body, field] of cases) {
      const bad = await post(url, '/reservation', body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(fieldsOf(bad.body), JSON.stringify(body)).toContain(field);
    }
    // An id with what a path must encode: the Location is encoded, and it leads to the reservation.
    const odd = await post<Reservation>(url, '/reservation', { customer: 'c-3', sku, quantity: 1, id: 'a/b c%d?é' });
    expect(odd.status).toBe(202);
    const location = odd.headers.get('location')!;
    expect(location).toBe('/reservation/a%2Fb%20c%25d%3F%C3%A9');
    expect((await get<Reservation>(url, location)).body).toMatchObject({ id: 'a/b c%d?é', status: 'confirmed' });
    expect((await call<Reservation>(url, 'DELETE', location)).body).toMatchObject({ id: 'a/b c%d?é', status: 'cancelled' });

    const badId = await get(url, `/reservation/${'r'.repeat(101)}`);
    expect(badId.status).toBe(400);
    expect(fieldsOf(badId.body)).toEqual(['path.id']);
  });
});

describe('serve --via db: requests at once', () => {
  it('40 concurrent reservations of the last 10 units: exactly 10 confirmed; then 30 concurrent sales of them: exactly 10 sold', async () => {
    const target = (await get<Page<{ sku: string }>>(url, '/products?limit=2')).body.items[1]!.sku;
    expect((await post(url, '/stock/count', { sku: target, level: 10 })).status).toBe(200);
    const held = await Promise.all(Array.from({ length: 40 }, (_, i) => post<Reservation>(url, '/reservation', { customer: `c-${i}`, sku: target, quantity: 1, id: `rush-${i}` })));
    expect(held.map((answer) => answer.status)).toEqual(Array(40).fill(202));
    const statuses = held.map((answer) => `${answer.body.status}:${answer.body.reason ?? ''}`);
    expect(statuses.filter((status) => status === 'confirmed:')).toHaveLength(10);
    expect(statuses.filter((status) => status === 'rejected:insufficient_stock')).toHaveLength(30);
    const levels = async () => (await get<Page<StockRow>>(url, `/stock?sku=${target}&store=online`)).body.items[0]!;
    expect(await levels()).toMatchObject({ onHand: 10, pending: 10, available: 0 });

    // Sales at the store take from what is on hand (holds are the reservations' business).
    const sold = await Promise.all(Array.from({ length: 30 }, () => post<ErrorBody>(url, '/stock/sell', { sku: target, quantity: 1 })));
    expect(sold.filter((answer) => answer.status === 200)).toHaveLength(10);
    const refused = sold.filter((answer) => answer.status !== 200);
    expect(refused).toHaveLength(20);
    for (const answer of refused) expect(answer.body.error.code).toBe('insufficient_stock');
    expect(await levels()).toMatchObject({ onHand: 0, pending: 10, available: 0 });
  });
});

describe('serve --via db: the shop, page by page', () => {
  const sorts = { '/products': ['sku', 'name', 'price', 'sold'], '/customers': ['name', 'purchases', 'registered'], '/purchases': ['latest', 'oldest', 'quantity'] } as const;
  const keyOf = (path: string, row: { sku?: string; id?: string }): string => (path === '/products' ? row.sku! : row.id!);

  it('pages /products, /customers and /purchases in every sort: the pages are the whole listing, each row once, in order', async () => {
    const counts = {
      '/products': await shop.mongo.db.collection('products').countDocuments(),
      '/customers': await shop.mongo.db.collection('customers').countDocuments(),
      '/purchases': await shop.mongo.db.collection('purchases').countDocuments(),
    };
    expect(counts).toEqual({ '/products': 12, '/customers': 17, '/purchases': 45 });
    for (const [path, names] of Object.entries(sorts)) {
      for (const sort of names) {
        const whole = (await get<Page<{ sku?: string; id?: string }>>(url, `${path}?sort=${sort}&limit=1000`)).body;
        expect(whole.nextCursor, `${path} ${sort}`).toBeNull();
        const keys = whole.items.map((row) => keyOf(path, row));
        expect(new Set(keys).size, `${path} ${sort}`).toBe(counts[path as keyof typeof counts]);
        const { rows, pages } = await allPages<{ sku?: string; id?: string }>(`${path}?sort=${sort}`, 5);
        expect(rows.map((row) => keyOf(path, row)), `${path} ${sort}`).toEqual(keys);
        expect(pages).toBe(Math.ceil(keys.length / 5));
      }
    }
    // The default page is 20, with a cursor to the rest.
    const first = (await get<Page<unknown>>(url, '/purchases')).body;
    expect(first.items).toHaveLength(20);
    expect(first.nextCursor).toEqual(expect.any(String));
  });

  it('sorts as asked, filters purchases by customer, and refuses a cursor it did not give or a sort it does not know', async () => {
    const prices = (await get<Page<{ price: { amount: number } }>>(url, '/products?sort=price&limit=1000')).body.items.map((p) => p.price.amount);
    expect(prices).toEqual([...prices].sort((a, b) => b - a));
    const times = (await get<Page<{ time: string }>>(url, '/purchases?sort=oldest&limit=1000')).body.items.map((p) => p.time);
    expect(times).toEqual([...times].sort());
    const buyers = (await get<Page<{ id: string; purchases: number }>>(url, '/customers?sort=purchases&limit=1000')).body.items;
    expect(buyers.map((c) => c.purchases)).toEqual([...buyers.map((c) => c.purchases)].sort((a, b) => b - a));
    expect(buyers.reduce((sum, c) => sum + c.purchases, 0)).toBe(45);

    const top = buyers[0]!;
    const { rows } = await allPages<{ customer: string }>(`/purchases?customer=${top.id}`, 2);
    expect(rows).toHaveLength(top.purchases);
    expect(rows.every((row) => row.customer === top.id)).toBe(true);

    const forged = Buffer.from(JSON.stringify({ o: -1 })).toString('base64url');
    const tooDeep = Buffer.from(JSON.stringify({ o: 100_001 })).toString('base64url');
    for (const query of ['cursor=not-ours', `cursor=${forged}`, `cursor=${tooDeep}`, 'cursor=', 'sort=cheapest', 'limit=abc', 'limit=-1']) {
      const bad = await get<ErrorBody>(url, `/products?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
      expect(fieldsOf(bad.body)[0], query).toMatch(/^query\.(cursor|sort|limit)$/);
    }
    // Past the end: an empty last page, not an error.
    const past = Buffer.from(JSON.stringify({ o: 500 })).toString('base64url');
    expect((await get<Page<unknown>>(url, `/products?cursor=${past}`)).body).toEqual({ items: [], nextCursor: null });
  });
});

describe('serve: what is refused before a handler runs', () => {
  it('413 over the body limit, 415 for other media types, 400 for bad JSON and operators; 405 with Allow; 404', async () => {
    const big = await call<ErrorBody>(url, 'POST', '/stock/receive', { json: { sku: 'SKU-BIG', quantity: 1, pad: 'x'.repeat(1_100_000) } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    expect(big.body.error.details).toEqual([]);
    const file = new FormData();
    file.set('sku', 'SKU-FILE');
    file.set('quantity', '1');
    file.set('upload', new Blob(['hello']), 'hello.txt');
    const upload = await fetch(`${url}/stock/receive`, { method: 'POST', body: file });
    expect(upload.status).toBe(413);
    expect(((await upload.json()) as ErrorBody).error.code).toBe('payload_too_large');

    for (const type of ['text/plain', 'application/xml', 'application/octet-stream']) {
      const other = await call<ErrorBody>(url, 'POST', '/stock/receive', { body: '{"sku":"SKU-T","quantity":1}', headers: { 'content-type': type } });
      expect(other.status, type).toBe(415);
      expect(other.body.error.code).toBe('unsupported_media_type');
    }
    const broken = await call<ErrorBody>(url, 'POST', '/stock/receive', { body: '{"sku":', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_request');
    const none = await call<ErrorBody>(url, 'POST', '/stock/receive');
    expect(none.status).toBe(400);

    const operator = await post<ErrorBody>(url, '/stock/receive', { sku: { $gt: '' }, quantity: 1 });
    expect(operator.status).toBe(400);
    expect(operator.body.error.details).toEqual([{ field: 'body.sku', message: 'Expected string, received object' }]);
    const dollar = await post(url, '/stock/receive', { sku: '$gt', quantity: 1 });
    expect(dollar.status).toBe(400);
    expect(fieldsOf(dollar.body)).toEqual(['body.sku']);
    // A query string has no nesting: `sku[$gt]=` is a parameter of that name, which this
    // endpoint does not have: refused and named (not the whole listing); a repeated one is a
    // list, refused.
    const bracketed = await get(url, '/stock?sku[$gt]=&limit=1000');
    expect(bracketed.status).toBe(400);
    expect(fieldsOf(bracketed.body)).toEqual(['query.sku[$gt]']);
    const twice = await get(url, '/stock?sku=a&sku=b');
    expect(twice.status).toBe(400);
    expect(fieldsOf(twice.body)).toEqual(['query.sku']);
    // Nothing was written by any of them.
    expect(await shop.mongo.db.collection('stock').countDocuments({ sku: { $in: ['SKU-BIG', 'SKU-FILE', 'SKU-T', '$gt'] } })).toBe(0);

    const cases: Array<[string, string, string]> = [
      ['PUT', '/stock', 'GET, HEAD'],
      ['DELETE', '/stock/receive', 'POST'],
      ['PATCH', '/reservation/r-1', 'GET, DELETE, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['PUT', '/inventory', 'POST, GET, HEAD'],
      ['GET', '/reservation', 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const wrong = await call<ErrorBody>(url, method, path);
      expect(wrong.status, `${method} ${path}`).toBe(405);
      expect(wrong.headers.get('allow')?.split(', ').sort(), `${method} ${path}`).toEqual(allow.split(', ').sort());
      expect(wrong.body.error.code).toBe('method_not_allowed');
    }
    for (const [method, path] of [['GET', '/nope'], ['POST', '/stock/steal'], ['GET', '/reservation/a/b'], ['GET', '/openapi.yaml']]) {
      const missing = await call<ErrorBody>(url, method!, path!);
      expect(missing.status, `${method} ${path}`).toBe(404);
      expect(missing.body.error).toEqual({ code: 'not_found', message: `no endpoint ${method} ${path}: see /openapi.json`, details: [] });
    }
  });

  it('echoes the caller\'s x-request-id, makes one otherwise, and logs each request with it on stderr', async () => {
    const mine = await get(url, '/healthz', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-abc.123');
    const failed = await call(url, 'DELETE', '/reservation/no-such', { headers: { 'x-request-id': 'trace-404' } });
    expect(failed.status).toBe(404);
    expect(failed.headers.get('x-request-id')).toBe('trace-404');
    const made = await get(url, '/products?limit=1');
    const generated = made.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // Not an id it keeps (spaces, too long): replaced.
    for (const given of ['has spaces', 'x'.repeat(65)]) {
      const replaced = (await get(url, '/healthz', { headers: { 'x-request-id': given } })).headers.get('x-request-id');
      expect(replaced).not.toBe(given);
      expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    }
    const line = (id: string) => server.stderr().split('\n').find((each) => each.includes(`"id":"${id}"`));
    expect(line('trace-abc.123')).toMatch(/ info \[shopctl:http\] request \{"id":"trace-abc\.123","method":"GET","url":"\/healthz","status":200,"ms":\d+\}$/);
    expect(line('trace-404')).toMatch(/"method":"DELETE","url":"\/reservation\/no-such","status":404/);
    expect(line(generated!)).toMatch(/"url":"\/products\?limit=1","status":200/);
  });

  it('answers a request its client sends a byte at a time (a raw socket)', async () => {
    // A raw socket: what a slow client sends, without fetch's own buffering.
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const body = JSON.stringify({ sku: 'SKU-SLOW', quantity: 2 });
    const request = `POST /stock/receive HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    for (const char of request) socket.write(char);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toContain('"status":"applied"');
    expect(await shop.mongo.db.collection('stock').findOne({ _id: 'online:SKU-SLOW' as never })).toMatchObject({ level: 2 });
  });
});
