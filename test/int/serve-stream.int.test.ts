import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/env.js';
import { call, get, openEvents, post, servers, type ErrorBody } from '../helpers/serve.js';
import { worlds, type World } from '../helpers/worlds.js';

// `shopctl serve`: the bearer token (writes, and reads with --token-reads), the live stream of
// applied events, stopping on SIGTERM with a request in flight and a stream open, and 503 when a
// service is away. The built binary on a real port, in a world of its own.

const TOKEN = `tok-${randomBytes(8).toString('hex')}`;
const WRONG = `bad-${randomBytes(8).toString('hex')}`;

interface Applied {
  kind: 'applied';
  count: number;
  byType: Record<string, number>;
  events: Array<{ id: string; type: string; data: Record<string, unknown> }>;
  truncated: boolean;
}

const { world, cleanUp } = worlds('serve-stream');
const { serve, stopAll } = servers();
let shop: World;
let sku: string;
let customer: string;

beforeAll(async () => {
  shop = await world();
  for (const args of [
    ['make', 'products', '--count', '2', '--seed', '61', '--via', 'db'],
    ['make', 'customers', '--count', '2', '--seed', '62', '--via', 'db'],
  ]) {
    const made = await shop.cli(...args);
    expect(made.code, made.stderr).toBe(0);
  }
  sku = (await shop.mongo.db.collection<{ _id: string }>('products').find({}).sort({ _id: 1 }).limit(1).toArray())[0]!._id;
  customer = (await shop.mongo.db.collection<{ _id: string }>('customers').find({}).sort({ _id: 1 }).limit(1).toArray())[0]!._id;
});

afterAll(async () => {
  await stopAll();
  await cleanUp();
});

/** Every writing endpoint, with a body it accepts, and what it answers with the right token. */
const writes = (): Array<{ method: string; path: string; json?: unknown; ok: number }> => [
  { method: 'POST', path: '/inventory', json: { productID: sku, availableQuantity: 500 }, ok: 200 },
  { method: 'POST', path: '/stock/receive', json: { sku, quantity: 5 }, ok: 200 },
  { method: 'POST', path: '/stock/sell', json: { sku, quantity: 1 }, ok: 200 },
  { method: 'POST', path: '/stock/count', json: { sku, level: 400 }, ok: 200 },
  { method: 'POST', path: '/purchases', json: { customer, product: sku }, ok: 200 },
  { method: 'POST', path: '/reservation', json: { customer, sku, quantity: 1, id: 'auth-1' }, ok: 202 },
  { method: 'DELETE', path: '/reservation/auth-1', ok: 200 },
];

describe('serve with a token', () => {
  it('asks writes for it (401 with WWW-Authenticate without it or with another), reads and /healthz stay open, and never prints it', async () => {
    const server = await serve(shop, [], { SHOPCTL_SERVE_TOKEN: TOKEN });
    expect(server.banner).toMatch(/\(writes --via db; writing endpoints ask for the token\)$/);
    const { url } = server;
    for (const write of writes()) {
      const at = `${write.method} ${write.path}`;
      const bare = await call<ErrorBody>(url, write.method, write.path, { json: write.json });
      expect(bare.status, at).toBe(401);
      expect(bare.headers.get('www-authenticate'), at).toBe('Bearer realm="shopctl"');
      expect(bare.body.error).toEqual({ code: 'unauthorized', message: 'this endpoint needs `Authorization: Bearer <token>`', details: [] });
      const wrong = await call<ErrorBody>(url, write.method, write.path, { json: write.json, token: WRONG });
      expect(wrong.status, at).toBe(401);
      expect(wrong.body.error.message).toBe('the token is not the right one');
      for (const header of [`Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, `Bearer ${TOKEN} more`, TOKEN]) {
        expect((await call(url, write.method, write.path, { json: write.json, headers: { authorization: header } })).status, `${at} ${header}`).toBe(401);
      }
      const right = await call(url, write.method, write.path, { json: write.json, token: TOKEN });
      expect(right.status, `${at}: ${right.text}`).toBe(write.ok);
    }
    // Nothing was written without the token: one count of 500, then the writes with it.
    const level = await shop.mongo.db.collection<{ level: number }>('stock').findOne({ _id: `online:${sku}` as never });
    expect(level?.level).toBe(399); // counted 400, then one purchase
    // An invalid body is still 401 first: no one learns the rules without the token.
    expect((await post(url, '/stock/receive', { nonsense: true })).status).toBe(401);

    for (const path of ['/healthz', '/openapi.json', '/stock', '/stock/global', '/inventory', '/sales', '/products', '/customers', '/purchases', '/reservation/auth-1']) {
      expect((await get(url, path)).status, path).toBe(200);
    }
    const stream = await openEvents(url);
    expect(stream.status).toBe(200);
    stream.close();
    const document = (await get<{ paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>> }>(url, '/openapi.json')).body;
    expect(document.paths['/stock/receive']!.post!.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(document.paths['/stock/receive']!.post!.responses)).toContain('401');
    expect(document.paths['/stock']!.get!.security).toBeUndefined();

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    const output = `${server.stdout()}\n${server.stderr()}`;
    expect(output).toContain('"status":401');
    expect(output).not.toContain(TOKEN);
    expect(output).not.toContain(WRONG);
  });

  it('with --token-reads asks reads and the stream for it too, but not /healthz or /openapi.json', async () => {
    const server = await serve(shop, ['--token-reads'], { SHOPCTL_SERVE_TOKEN: TOKEN });
    expect(server.banner).toMatch(/every endpoint asks for the token\)$/);
    const { url } = server;
    for (const path of ['/stock', '/stock/global', '/inventory', '/sales', '/products', '/customers', '/purchases', '/reservation/auth-1']) {
      const bare = await get<ErrorBody>(url, path);
      expect(bare.status, path).toBe(401);
      expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="shopctl"');
      expect((await get(url, path, { token: WRONG })).status, path).toBe(401);
      expect((await get(url, path, { token: TOKEN })).status, path).toBe(200);
    }
    const shut = await openEvents(url);
    expect(shut.status).toBe(401);
    shut.close();
    const open = await openEvents(url, { authorization: `Bearer ${TOKEN}` });
    expect(open.status).toBe(200);
    open.close();
    expect((await get(url, '/healthz')).status).toBe(200);
    const document = await get<{ paths: Record<string, Record<string, { security?: unknown }>> }>(url, '/openapi.json');
    expect(document.status).toBe(200);
    expect(document.body.paths['/stock']!.get!.security).toEqual([{ bearer: [] }]);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(`${server.stdout()}${server.stderr()}`).not.toContain(TOKEN);
  });

  it('refuses --token-reads without a token and a token too weak, without echoing it', async () => {
    const reads = await shop.cli('serve', '--port', '0', '--token-reads');
    expect(reads.code).toBe(2);
    expect(reads.stderr).toContain('--token-reads needs a token');
    const weak = await shop.cli('serve', '--port', '0', '--token', 'pw9');
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('--token: expected at least 8 printable ASCII characters, no spaces');
    expect(weak.stderr).not.toContain('pw9');
  });
});

describe('serve: the live stream', () => {
  it('streams a write made through the API as `applied` within a second, with the event, and alert changes', async () => {
    const server = await serve(shop);
    const stream = await openEvents(server.url);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await stream.next((message) => message.event === 'hello', 5_000);

    const written = await post<{ eventId: string }>(server.url, '/stock/count', { store: 'kiosk', sku: 'SKU-LIVE', level: 2 });
    expect(written.status, written.text).toBe(200);
    const answered = Date.now();
    const message = await stream.next((each) => each.event === 'applied', 1_000);
    expect(Date.now() - answered).toBeLessThan(1_000);
    const applied = JSON.parse(message.data) as Applied;
    expect(applied).toMatchObject({ kind: 'applied', count: 1, byType: { 'shop.stock.counted.v1': 1 }, truncated: false });
    expect(applied.events[0]).toMatchObject({ id: written.body.eventId, type: 'shop.stock.counted.v1', data: { store: 'kiosk', sku: 'SKU-LIVE', level: 2 } });
    // Ids count the messages of this connection (a snapshot of open alerts may come first).
    expect(Number(message.id)).toBeGreaterThanOrEqual(1);
    // A level of 2 is under the threshold (5): an alert is raised on the stream.
    const alert = await stream.next((each) => each.event === 'alerts' && (JSON.parse(each.data) as { snapshot?: boolean }).snapshot !== true, 5_000);
    expect(JSON.parse(alert.data)).toMatchObject({ kind: 'alerts', raised: [expect.objectContaining({ store: 'kiosk', sku: 'SKU-LIVE' })] });

    // What changes nothing (a refusal) is not streamed; a reservation is.
    expect((await post(server.url, '/stock/sell', { store: 'kiosk', sku: 'SKU-LIVE', quantity: 9 })).status).toBe(422);
    expect((await post(server.url, '/reservation', { customer, sku, quantity: 1, id: 'live-1' })).status).toBe(202);
    const reserved = await stream.next((each) => each.event === 'applied' && each.data.includes('live-1'), 2_000);
    expect((JSON.parse(reserved.data) as Applied).byType).toEqual({ 'shop.reservation.requested.v1': 1 });
    const kinds = stream.messages.filter((each) => each.event === 'applied').map((each) => Object.keys((JSON.parse(each.data) as Applied).byType));
    expect(kinds).toEqual([['shop.stock.counted.v1'], ['shop.reservation.requested.v1']]);
    stream.close();

    // HEAD, which a GET path allows (405 says so), answers the headers at once.
    const head = await fetch(`${server.url}/events`, { method: 'HEAD', signal: AbortSignal.timeout(5_000) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await server.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('serve: stopping', () => {
  it('SIGTERM with a request in flight: it is answered, new connections are refused, exit 0 and `stopped`', async () => {
    const server = await serve(shop);
    const { port } = new URL(server.url);
    const body = JSON.stringify({ store: 'flight', sku: 'SKU-FLIGHT', quantity: 6 });
    // A raw socket: the headers now (with Expect: 100-continue, so that the server says when it
    // has them: it routed the request), the body once the server is stopping.
    const socket = net.connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST /stock/receive HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await waitFor(() => (answer.startsWith('HTTP/1.1 100 Continue\r\n\r\n') ? true : undefined), 5_000, '100 Continue');

    server.child.kill('SIGTERM');
    await waitFor(() => (server.stderr().includes('SIGTERM: answering the requests in flight, then stopping') ? true : undefined), 5_000, 'the server to start stopping');
    await waitFor(
      () =>
        new Promise<true | undefined>((resolve) => {
          const probe = net.connect(Number(port), '127.0.0.1');
          probe.once('error', () => resolve(true)); // refused: it no longer listens
          probe.once('connect', () => {
            probe.destroy();
            resolve(undefined);
          });
        }),
      5_000,
      'the listening socket to close',
    );
    expect(server.child.exitCode).toBeNull(); // still answering the request in flight
    socket.write(body);
    await waitFor(() => (answer.includes('"status":"applied"') ? true : undefined), 5_000, `the answer to the request in flight; so far: ${answer}`);
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n{') + 4))).toMatchObject({ status: 'applied', store: 'flight', sku: 'SKU-FLIGHT' });
    // Exits by itself once it has answered: the client's keep-alive connection does not hold it.
    expect(await server.exited(10_000)).toEqual({ code: 0, signal: null });
    expect(server.stdout().trimEnd().split('\n').at(-1)).toBe('stopped');
    await closed; // the server let the connection go
    expect(await shop.mongo.db.collection('stock').findOne({ _id: 'flight:SKU-FLIGHT' as never })).toMatchObject({ level: 6 });
  });

  it('an open event stream does not hold the exit: it gets `bye` and ends, exit 0', async () => {
    const server = await serve(shop);
    const streams = await Promise.all([openEvents(server.url), openEvents(server.url)]);
    await Promise.all(streams.map((stream) => stream.next((message) => message.event === 'hello', 5_000)));
    const signalled = Date.now();
    const exit = await server.stop('SIGTERM', 10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5_000);
    for (const stream of streams) {
      await stream.ended;
      expect(stream.messages.at(-1)).toEqual({ event: 'bye', data: '{}' });
    }
    expect(server.stdout()).toMatch(/\nstopped\n$/);
  });
});

describe('serve: a service away', () => {
  it('Kafka away: /healthz 503 saying which, writes through Kafka 503 with Retry-After; reads from MongoDB still answer', async () => {
    const server = await serve(shop, ['--via', 'kafka'], { SHOPCTL_KAFKA_BROKERS: '127.0.0.1:1' });
    const health = await get<{ status: string; kafka: { reachable: boolean }; mongodb: { reachable: boolean } }>(server.url, '/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'unavailable', kafka: { reachable: false }, mongodb: { reachable: true } });
    const write = await post<ErrorBody>(server.url, '/stock/receive', { sku, quantity: 1 });
    expect(write.status).toBe(503);
    expect(write.headers.get('retry-after')).toBe('5');
    expect(write.body.error).toEqual({ code: 'service_unavailable', message: 'Kafka is not reachable: try again later', details: [] });
    expect((await get(server.url, `/stock?sku=${sku}`)).status).toBe(200);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(server.stderr()).toContain('Kafka does not answer');
  });

  it('MongoDB away: reads and writes 503 naming MongoDB, never its address', async () => {
    const server = await serve(shop, [], { SHOPCTL_MONGODB_URI: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500' });
    for (const [method, path, json] of [
      ['GET', '/stock', undefined],
      ['POST', '/stock/receive', { sku, quantity: 1 }],
    ] as const) {
      const answer = await call<ErrorBody>(server.url, method, path, { json });
      expect(answer.status, path).toBe(503);
      expect(answer.body.error).toEqual({ code: 'service_unavailable', message: 'MongoDB is not reachable: try again later', details: [] });
      expect(answer.text).not.toContain('127.0.0.1:1');
    }
    expect((await get(server.url, '/healthz')).status).toBe(503);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
  });
});
