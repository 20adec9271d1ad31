import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defaultConfig } from '../../src/config/schema.js';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { ServiceUnavailableError, ShopctlError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { buildServer, formValues } from '../../src/server/app.js';
import { toErrorAnswer } from '../../src/server/errors.js';
import * as schemas from '../../src/server/schemas.js';
import type { Context } from '../../src/services/context.js';
import { createFeed, createRate, EVENTS_PER_MESSAGE, type FeedMessage } from '../../src/services/feed.js';
import { groupCommit, observedWriter, type WriteOutcome } from '../../src/services/writer.js';

// The HTTP layer without services: routing, the error shape, auth, validation, limits and the
// OpenAPI document, through Fastify's `inject` (no socket). Every request here is answered
// before a handler would reach MongoDB or Kafka: a context that fails when asked proves it.
// test/int/serve.int.test.ts runs the real server against the real stack.

const unreachable = (): never => {
  throw new Error('this test must not reach a service');
};
const context = { config: defaultConfig, loaded: {} as never, output: {} as never, kafka: unreachable, database: unreachable, writer: unreachable, close: () => Promise.resolve() } as unknown as Context;

async function server(options: { token?: string; tokenReads?: boolean; bodyLimitBytes?: number; assetsDir?: string | null } = {}) {
  const lines: string[] = [];
  const app = await buildServer({
    context,
    via: 'db',
    version: '0.0.0-test',
    token: options.token ?? null,
    tokenReads: options.tokenReads ?? false,
    bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576,
    requestTimeoutMs: 5_000,
    log: createLogger('test', 'info', (line) => lines.push(line)),
    feed: createFeed({ levels: () => Promise.resolve([]) }),
    assetsDir: options.assetsDir === undefined ? null : options.assetsDir,
  });
  return { app, lines };
}

const json = { 'content-type': 'application/json' };

describe('serve: routing and the error shape', () => {
  it('answers an unknown path 404 and a known path with another method 405 with Allow', async () => {
    const { app } = await server();
    const missing = await app.inject({ method: 'GET', url: '/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'no endpoint GET /nope: see /openapi.json', details: [] } });
    const wrong = await app.inject({ method: 'PUT', url: '/reservation/r-1' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('GET, DELETE, HEAD');
    expect(wrong.json().error.code).toBe('method_not_allowed');
  });

  it('names each invalid field of the body, the query and the path', async () => {
    const { app } = await server();
    const body = await app.inject({ method: 'POST', url: '/stock/receive', headers: json, payload: { sku: 'SKU-1', quantity: 0, extra: 1 } });
    expect(body.statusCode).toBe(400);
    const fields = body.json<{ error: { details: Array<{ field: string }> } }>().error.details.map((detail) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['body.quantity', 'body.extra']));
    const query = await app.inject({ method: 'GET', url: '/products?limit=1e2' });
    expect(query.statusCode).toBe(400);
    expect(query.json().error.details[0].field).toBe('query.limit');
    const path = await app.inject({ method: 'GET', url: `/reservation/${'r'.repeat(101)}` });
    expect(path.statusCode).toBe(400);
    expect(path.json().error.details[0].field).toBe('path.id');
  });

  it('names an unknown query parameter (a typo or an operator) rather than answering everything', async () => {
    const { app } = await server();
    const typo = await app.inject({ method: 'GET', url: '/stock?skU=SKU-1' });
    expect(typo.statusCode).toBe(400);
    expect(typo.json<{ error: { details: unknown[] } }>().error.details).toEqual([{ field: 'query.skU', message: 'unknown field' }]);
    const operator = await app.inject({ method: 'GET', url: '/products?sku[$gt]=' });
    expect(operator.statusCode).toBe(400);
  });

  it('refuses an operator where a value belongs ($-injection) and a store id with a slash', async () => {
    const { app } = await server();
    const operator = await app.inject({ method: 'POST', url: '/purchases', headers: json, payload: { customer: { $gt: '' }, product: 'SKU-1' } });
    expect(operator.statusCode).toBe(400);
    expect(operator.json().error.details[0]).toEqual({ field: 'body.customer', message: 'Expected string, received object' });
    const dollar = await app.inject({ method: 'GET', url: '/stock?sku=%24where' });
    expect(dollar.statusCode).toBe(400);
    const slash = await app.inject({ method: 'POST', url: '/stock/count', headers: json, payload: { store: 'a/b', sku: 'SKU-1', level: 1 } });
    expect(slash.statusCode).toBe(400);
  });

  it('refuses lone surrogates, which UTF-8 would store as another text, in a JSON body (a URL cannot carry one: it decodes to U+FFFD)', async () => {
    const { app } = await server();
    const body = await app.inject({ method: 'POST', url: '/stock/receive', headers: json, payload: '{"sku":"SKU-\\ud800","quantity":1}' });
    expect(body.statusCode).toBe(400);
    expect(body.json<{ error: { details: Array<{ field: string }> } }>().error.details[0]?.field).toBe('body.sku');
  });

  it('answers a multipart body it cannot read 400, not 500', async () => {
    const { app } = await server();
    const noBoundary = await app.inject({ method: 'POST', url: '/inventory', headers: { 'content-type': 'multipart/form-data' }, payload: 'x' });
    expect(noBoundary.statusCode).toBe(400);
    expect(noBoundary.json<{ error: { code: string } }>().error.code).toBe('invalid_request');
    const odd = await app.inject({ method: 'QUERY', url: '/stock' });
    expect(odd.statusCode).toBe(405);
  });

  it('answers a body over the limit 413, an unknown media type 415 and bad JSON 400, in the one shape', async () => {
    const { app } = await server({ bodyLimitBytes: 1024 });
    const big = await app.inject({ method: 'POST', url: '/stock/receive', headers: json, payload: JSON.stringify({ sku: 'x'.repeat(5000), quantity: 1 }) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('payload_too_large');
    const text = await app.inject({ method: 'POST', url: '/stock/receive', headers: { 'content-type': 'text/plain' }, payload: 'sku=1' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
    const broken = await app.inject({ method: 'POST', url: '/stock/receive', headers: json, payload: '{"sku":' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_request');
  });

  it('keeps a caller\'s request id, makes one otherwise, and logs each request with it', async () => {
    const { app, lines } = await server();
    const given = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'not valid!' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.some((line) => line.includes('"id":"abc-123"') && line.includes('"status":404'))).toBe(true);
  });
});

describe('serve: the bearer token', () => {
  const token = 's3cret-token-42';

  it('asks writes for it (401 with WWW-Authenticate) before looking at the body; reads stay open', async () => {
    const { app, lines } = await server({ token });
    const none = await app.inject({ method: 'POST', url: '/stock/receive', headers: json, payload: { nonsense: true } });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="shopctl"');
    const wrong = await app.inject({ method: 'DELETE', url: '/reservation/r-1', headers: { authorization: 'Bearer wrong-token' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe('the token is not the right one');
    // The right token gets as far as validation (no service is reached for an invalid body).
    const right = await app.inject({ method: 'POST', url: '/stock/receive', headers: { ...json, authorization: `Bearer ${token}` }, payload: { nonsense: true } });
    expect(right.statusCode).toBe(400);
    const read = await app.inject({ method: 'GET', url: '/products?limit=0' });
    expect(read.statusCode).toBe(400);
    expect(lines.join('\n')).not.toContain(token);
  });

  it('asks reads for it too with tokenReads, except /healthz and /openapi.json', async () => {
    const { app } = await server({ token, tokenReads: true });
    expect((await app.inject({ method: 'GET', url: '/products' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
  });
});

describe('serve: /openapi.json', () => {
  it('describes every route, from the same schemas, with a default error response', async () => {
    const { app } = await server({ token: 'a-token-123' });
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown; requestBody?: { content: Record<string, unknown> } }>>;
      components: { schemas: Record<string, { properties?: Record<string, { pattern?: string; maximum?: number }> }> };
    }>();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual(
      ['/analytics/capacity', '/analytics/low', '/analytics/position', '/analytics/range', '/analytics/top-sellers', '/customers', '/events', '/healthz', '/inventory', '/products', '/purchases', '/reservation', '/reservation/{id}', '/sales', '/stock', '/stock/count', '/stock/global', '/stock/history', '/stock/receive', '/stock/sell'].sort(),
    );
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) expect(operation.responses.default).toBeDefined();
    }
    expect(document.paths['/inventory']!.post!.security).toEqual([{ bearer: [] }]);
    expect(document.paths['/inventory']!.get!.security).toBeUndefined();
    expect(Object.keys(document.paths['/inventory']!.post!.requestBody!.content)).toEqual(['application/json', 'multipart/form-data', 'application/x-www-form-urlencoded']);
    // The id rule of the command line, as a pattern; the stock limit of the event schemas.
    const change = document.components.schemas.StockChange!.properties!;
    const regex = schemas.changeBody.shape.sku._def.checks.find((check) => check.kind === 'regex');
    expect(regex?.kind === 'regex' ? regex.regex.source : null).toBe(change.sku!.pattern);
    expect(change.quantity!.maximum).toBe(1_000_000_000);
  });
});

describe('serve: form fields', () => {
  const schema = z.object({ n: z.number().int().optional(), flag: z.boolean().optional(), text: z.string() });

  it('turns digits (and decimals) into numbers and true/false into booleans where the schema wants them, nothing else', () => {
    expect(formValues(schema, { n: '12', flag: 'true', text: '34' })).toEqual({ n: 12, flag: true, text: '34' });
    // A decimal becomes a number too, so that the schema says it is not whole (not "received string").
    expect(formValues(schema, { n: '1.5', flag: 'yes', text: 'x' })).toEqual({ n: 1.5, flag: 'yes', text: 'x' });
    expect(formValues(schema, { n: '1e3' })).toEqual({ n: '1e3' });
    expect(formValues(schema, { n: ['1', '2'] })).toEqual({ n: ['1', '2'] });
    expect(formValues(schema, null)).toBeNull();
  });
});

describe('serve: errors as answers', () => {
  it('maps the command line\'s errors to statuses, and never shows an address', () => {
    expect(toErrorAnswer(new ShopctlError('no', { code: 'STORE_STALE' })).status).toBe(409);
    expect(toErrorAnswer(new ShopctlError('no', { code: 'UNKNOWN_REFERENCE' })).body.error.code).toBe('unknown_reference');
    const away = toErrorAnswer(new ServiceUnavailableError('mongodb', 'mongodb://user:pw@10.0.0.1:27017'));
    expect(away.status).toBe(503);
    expect(away.headers['retry-after']).toBe('5');
    expect(JSON.stringify(away.body)).not.toContain('pw');
    const bug = toErrorAnswer(new TypeError('x is undefined'));
    expect(bug).toMatchObject({ status: 500, internal: true });
    expect(bug.body.error.message).not.toContain('undefined');
  });
});

describe('group commit', () => {
  it('writes what arrives while a write is on its way in the next one, and gives each caller its own outcomes', async () => {
    const flushed: string[][] = [];
    let release: (() => void) | undefined;
    const group = groupCommit(async (events) => {
      flushed.push(events.map((event) => event.id));
      if (flushed.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return events.map((event): WriteOutcome => (event.id === 'bad' ? { status: 'rejected', reason: 'insufficient_stock', message: 'no' } : { status: 'applied' }));
    }, 3);
    const ev = (id: string) => ({ id }) as ShopEvent;
    const first = group.write([ev('a')]);
    const second = group.write([ev('b'), ev('bad')]);
    const third = group.write([ev('c')]);
    const fourth = group.write([ev('d'), ev('e')]);
    release!();
    expect(await first).toEqual([{ status: 'applied' }]);
    expect((await second).map((outcome) => outcome.status)).toEqual(['applied', 'rejected']);
    await Promise.all([third, fourth]);
    // a alone; then b, bad, c (3 at most); then d, e: a caller's events are never split.
    expect(flushed).toEqual([['a'], ['b', 'bad', 'c'], ['d', 'e']]);
  });

  it('fails the callers of a failed write only', async () => {
    let calls = 0;
    const group = groupCommit((events) => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error('lost'));
      return Promise.resolve(events.map((): WriteOutcome => ({ status: 'published' })));
    });
    const failed = group.write([{ id: 'x' } as ShopEvent]);
    const later = group.write([{ id: 'y' } as ShopEvent]);
    await expect(failed).rejects.toThrow('lost');
    expect(await later).toEqual([{ status: 'published' }]);
  });

  it('tells an observer the applied events only', async () => {
    const seen: string[] = [];
    const writer = observedWriter(
      {
        via: 'db',
        write: (events) => Promise.resolve(events.map((event): WriteOutcome => (event.id === 'dup' ? { status: 'duplicate' } : { status: 'applied' }))),
        close: () => Promise.resolve(),
      },
      (events) => seen.push(...events.map((event) => event.id)),
    );
    await writer.write([{ id: 'a' } as ShopEvent, { id: 'dup' } as ShopEvent]);
    expect(seen).toEqual(['a']);
  });
});

describe('the live feed', () => {
  const event = (n: number, type: 'shop.stock.received.v1' | 'shop.customer.registered.v1' = 'shop.stock.received.v1'): ShopEvent =>
    type === 'shop.stock.received.v1'
      ? createEvent(type, { store: 's', sku: `SKU-${n}`, quantity: 1 }, { id: `e${n}`, time: '2026-01-01T00:00:00.000Z', source: 't' })
      : ({ id: `c${n}`, type } as ShopEvent);

  it('sends one message per applied batch, summarised beyond its first events, to each listener', () => {
    const feed = createFeed({ levels: () => Promise.resolve([]), alertsEveryMs: 60_000 });
    const got: FeedMessage[] = [];
    feed.applied([event(1)]); // nobody listens: nothing kept
    const stop = feed.subscribe((message) => got.push(message));
    feed.applied(Array.from({ length: EVENTS_PER_MESSAGE + 5 }, (_, i) => event(i)));
    stop();
    feed.applied([event(9)]);
    feed.close();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ kind: 'applied', count: EVENTS_PER_MESSAGE + 5, truncated: true, byType: { 'shop.stock.received.v1': EVENTS_PER_MESSAGE + 5 } });
    expect((got[0] as { events: unknown[] }).events).toHaveLength(EVENTS_PER_MESSAGE);
  });

  it('tells a new listener the open alerts first, then raises and clears them after events that move levels', async () => {
    let level = 2;
    const feed = createFeed({ levels: () => Promise.resolve([{ store: 's', sku: 'SKU-1', level, threshold: 5 }]), alertsEveryMs: 5 });
    const got: FeedMessage[] = [];
    feed.subscribe((message) => got.push(message));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got.filter((message) => message.kind === 'alerts')).toMatchObject([{ snapshot: true, raised: [{ kind: 'low_stock', level: 2 }], cleared: [] }]);
    // A second listener gets the snapshot at once, from what the first check learnt.
    const second: FeedMessage[] = [];
    const stopSecond = feed.subscribe((message) => second.push(message));
    expect(second).toMatchObject([{ kind: 'alerts', snapshot: true, raised: [{ key: 's:SKU-1' }] }]);
    stopSecond();
    got.length = 0;
    level = 0;
    feed.applied([event(1)]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    level = 50;
    feed.applied([event(2, 'shop.customer.registered.v1')]); // moves no level: no check
    await new Promise((resolve) => setTimeout(resolve, 30));
    feed.applied([event(3)]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    feed.close();
    const alerts = got.filter((message) => message.kind === 'alerts');
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toMatchObject({ snapshot: false, raised: [{ kind: 'out_of_stock', level: 0 }], cleared: [] });
    expect(alerts[1]).toMatchObject({ snapshot: false, raised: [], cleared: [{ key: 's:SKU-1', level: 50 }] });
  });

  it('averages the events applied over the last whole seconds', () => {
    const rate = createRate(5);
    rate.add(10, 1_000);
    rate.add(15, 3_500);
    rate.add(99, 6_200); // the current second: still filling, not counted
    expect(rate.perSecond(6_900)).toBe(5);
    expect(rate.perSecond(20_000)).toBe(0);
    expect(rate.total()).toBe(124);
  });

  it('sends stats about once a second while someone listens, with the lag Kafka said', async () => {
    let asked = 0;
    const feed = createFeed({
      levels: () => Promise.resolve([]),
      statsEveryMs: 10,
      lag: () => {
        asked += 1;
        return Promise.resolve(42);
      },
    });
    const got: FeedMessage[] = [];
    const stop = feed.subscribe((message) => got.push(message));
    feed.applied([event(1), event(2)]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    stop();
    const before = asked;
    await new Promise((resolve) => setTimeout(resolve, 40));
    feed.close();
    const stats = got.filter((message) => message.kind === 'stats');
    expect(stats.length).toBeGreaterThanOrEqual(2);
    expect(stats[0]).toMatchObject({ applied: 2, lag: null, windowSeconds: 5 });
    expect(stats.at(-1)).toMatchObject({ lag: 42 });
    // Nobody listens: no more stats, no more questions to Kafka.
    expect(asked).toBe(before);
  });
});

describe('serve: the dashboard', () => {
  const built = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shopctl-web-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>dash</title><script type="module" src="/assets/index-abc123.js"></script>');
    writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), `console.log(${JSON.stringify('x'.repeat(2000))});`);
    return dir;
  };

  it('serves the built files at / and their own paths, compressed, cached by name, with a strict page policy', async () => {
    const dir = built();
    try {
      const { app } = await server({ assetsDir: dir });
      const page = await app.inject({ method: 'GET', url: '/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.body).toContain('<title>dash</title>');
      expect((await app.inject({ method: 'HEAD', url: '/index.html' })).statusCode).toBe(200);
      const script = await app.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
      expect(script.statusCode).toBe(200);
      expect(script.headers['content-encoding']).toBe('gzip');
      expect(script.headers['cache-control']).toContain('immutable');
      expect(gunzipSync(script.rawPayload).toString()).toContain('console.log');
      // Not the API: not in its document; an unknown path is still its JSON 404, a wrong method 405.
      const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
      expect(Object.keys(document.paths).filter((key) => key === '/' || key.startsWith('/assets') || key.endsWith('.html'))).toEqual([]);
      const missing = await app.inject({ method: 'GET', url: '/assets/nope.js' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('not_found');
      const wrong = await app.inject({ method: 'POST', url: '/' });
      expect(wrong.statusCode).toBe(405);
      expect(wrong.headers.allow).toBe('GET, HEAD');
      expect((await app.inject({ method: 'GET', url: '/../package.json' })).statusCode).toBe(404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to build it when it is not built', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shopctl-web-'));
    try {
      const { app } = await server({ assetsDir: dir });
      const page = await app.inject({ method: 'GET', url: '/' });
      expect(page.statusCode).toBe(404);
      expect(page.json().error.message).toMatch(/npm run build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
