import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ServiceUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Context } from '../services/context.js';
import type { Feed } from '../services/feed.js';
import { unavailableService } from '../services/health.js';
import { DASHBOARD_CSP, dashboardDir, loadAssets, type Asset } from './assets.js';
import { ApiError, invalidRequest, toErrorAnswer } from './errors.js';
import { openApiDocument } from './openapi.js';
import { fastifyPath, route, type RouteSpec } from './route.js';
import { routes } from './routes.js';

// `shopctl serve`: Fastify, because it is made for exactly this (a route table, content-type
// parsers, body limits, request ids, timeouts, graceful close, and `inject` for tests without a
// socket) and is among the fastest Node frameworks. Its own validation is not used: every part
// of a request is parsed with the route's zod schema (server/schemas.ts), the same rules as the
// command line, and the same schemas make /openapi.json.

export interface ServeSettings {
  context: Context;
  via: 'db' | 'kafka';
  version: string;
  /** Bearer token for writing endpoints (and reads with tokenReads); null: open. */
  token: string | null;
  tokenReads: boolean;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  /** Access log and errors (never a header's value). */
  log: Logger;
  feed: Feed;
  now?: () => Date;
  /** The built dashboard served at `/` (default: dist/web; null: none). */
  assetsDir?: string | null;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const FORM_TYPES = /^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i;

/** Form fields are text: digits become numbers and true/false booleans where the schema wants them. */
export function formValues(schema: z.AnyZodObject, body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const field = (schema.shape as Record<string, z.ZodTypeAny | undefined>)[key];
    result[key] = typeof value === 'string' && field ? coerceText(baseOf(field), value) : value;
  }
  return result;
}

function baseOf(field: z.ZodTypeAny): z.ZodTypeAny {
  let at = field;
  for (let depth = 0; depth < 10; depth += 1) {
    if (at instanceof z.ZodOptional || at instanceof z.ZodNullable) at = at.unwrap() as z.ZodTypeAny;
    else if (at instanceof z.ZodDefault) at = at.removeDefault() as z.ZodTypeAny;
    else if (at instanceof z.ZodEffects) at = at.innerType() as z.ZodTypeAny;
    else break;
  }
  return at;
}

function coerceText(field: z.ZodTypeAny, text: string): unknown {
  // Decimals too, so that `1.5` for a whole number is refused as not whole, not as text.
  if (field instanceof z.ZodNumber && /^-?[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text);
  if (field instanceof z.ZodBoolean && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

// JSON may carry lone surrogates (\ud800), which UTF-8 cannot: written to MongoDB or Kafka they
// would become U+FFFD, another id than the one given. Refused wherever they are.
const LONE_SURROGATE = /\p{Cs}/u;
function illFormed(value: unknown, at: string, depth = 0): string | null {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? at : null;
  if (depth > 20 || typeof value !== 'object' || value === null) return null;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (LONE_SURROGATE.test(key)) return `${at}.${key}`;
    const found = illFormed(inner, `${at}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The routes, the live stream and /openapi.json, on a Fastify instance (not listening yet). */
export async function buildServer(settings: ServeSettings): Promise<FastifyInstance> {
  const { log, feed } = settings;
  const now = settings.now ?? (() => new Date());
  const app = Fastify({
    logger: false,
    bodyLimit: settings.bodyLimitBytes,
    requestTimeout: settings.requestTimeoutMs,
    return503OnClosing: true,
    // Ids in paths are up to 200 characters (more when encoded): the schema judges them, not a 414.
    routerOptions: { maxParamLength: 2048 },
    // A caller's own id is kept (one id across its services), anything else gets a new one.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  // JSON and forms only: a text/plain body is an unsupported media type (415), not a string to refuse.
  app.removeContentTypeParser('text/plain');
  await app.register(formbody, { bodyLimit: settings.bodyLimitBytes });
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    // Fields only: a file part is refused (413) rather than buffered.
    limits: { fields: 20, fieldSize: 10_000, files: 0, fileSize: 0, parts: 21 },
  });

  const expected = settings.token === null ? null : digest(settings.token);
  const authorize = (spec: Pick<RouteSpec, 'writes' | 'path'>, request: FastifyRequest): void => {
    if (expected === null || spec.path === '/healthz' || spec.path === '/openapi.json') return;
    if (!spec.writes && !settings.tokenReads) return;
    const header = request.headers.authorization;
    const given = typeof header === 'string' ? /^Bearer +(\S+)$/i.exec(header)?.[1] : undefined;
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return;
    throw new ApiError(401, 'unauthorized', given === undefined ? 'this endpoint needs `Authorization: Bearer <token>`' : 'the token is not the right one', [], {
      'www-authenticate': 'Bearer realm="shopctl"',
    });
  };

  const specs = routes({ context: settings.context, via: settings.via, now });
  // Requests whose handler started: an error before it came from reading the body.
  const handled = new WeakSet<FastifyRequest>();
  const parse = <T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, where: 'body' | 'query' | 'path'): T => {
    const broken = illFormed(value, where);
    if (broken) throw new ApiError(400, 'invalid_request', `${broken}: not well-formed Unicode (a lone surrogate: it would be stored as another text)`, [{ field: broken, message: 'lone surrogate' }]);
    const parsed = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
    if (!parsed.success) throw invalidRequest(where, parsed.error);
    return parsed.data;
  };
  for (const spec of specs) {
    // An unknown query parameter is a 400 naming it, as an unknown body field is: `?skU=` or
    // `?sku[$gt]=` must not quietly answer the whole listing.
    const query = spec.query instanceof z.ZodObject ? spec.query.strict() : spec.query;
    app.route({
      method: spec.method.toUpperCase() as 'GET' | 'POST' | 'DELETE',
      url: fastifyPath(spec.path),
      handler: async (request, reply) => {
        handled.add(request);
        authorize(spec, request);
        const parsedQuery = query ? parse(query, request.query, 'query') : undefined;
        const params = spec.params ? parse(spec.params, request.params, 'path') : undefined;
        let body: unknown;
        if (spec.body) {
          const form = FORM_TYPES.test(request.headers['content-type'] ?? '');
          body = parse(spec.body.schema, form ? formValues(spec.body.schema, request.body) : request.body, 'body');
        }
        const answer = await spec.handler({ query: parsedQuery, params, body, id: request.id });
        void reply.code(answer.status);
        if (answer.headers) void reply.headers(answer.headers);
        return answer.body;
      },
    });
  }

  // The live stream: one message per applied batch, and alert changes (services/feed.ts).
  const streams = new Set<ServerResponse>();
  const eventsSpec = route({
    method: 'get',
    path: '/events',
    operationId: 'events',
    summary: 'Server-Sent Events: the events this server applies (its --via db writes; with --consume, what it projects from Kafka), one message per batch, and alert changes',
    description:
      'Messages: `event: applied` with `{ at, count, byType, events (the first 100), truncated }`; `event: alerts` with `{ at, raised, cleared, snapshot }` (first a snapshot of the open alerts, then changes); `event: stats` about once a second with `{ at, eventsPerSecond, windowSeconds, applied, lag }` (lag: the consumer group\'s, with --consume); a comment every 15 s keeps the connection open.',
    tag: 'service',
    writes: false,
    responses: { 200: { description: 'a stream that stays open', schema: z.string(), contentType: 'text/event-stream' } },
    handler: () => Promise.resolve({ status: 200 }),
    stream: true,
  });
  app.get('/events', (request, reply) => {
    authorize(eventsSpec, request);
    // HEAD (Fastify answers it with this handler): the headers, not a stream that never sends them.
    if (request.method === 'HEAD') return void reply.type('text/event-stream; charset=utf-8').send();
    streamEvents(request, reply, feed, streams, log);
  });

  const document = openApiDocument([...specs, eventsSpec], { version: settings.version, token: expected !== null, tokenReads: settings.tokenReads });
  app.get('/openapi.json', (_request, reply) => reply.send(document));

  // The dashboard: its built files, each at its own path (not in the OpenAPI document: they are
  // not the API). Its data comes from the API and /events like any other client's.
  const assetsDir = settings.assetsDir === undefined ? dashboardDir() : settings.assetsDir;
  const assets = assetsDir === null ? [] : await loadAssets(assetsDir);
  for (const asset of assets) app.get(asset.url, (request, reply) => sendAsset(asset, request, reply));
  if (assetsDir !== null && assets.length === 0) {
    app.get('/', (request, reply) => sendError(reply, new ApiError(404, 'not_found', 'the dashboard is not built: run `npm run build` (it builds web/ into dist/web)'), request, log));
  }

  // 405 for a path that exists with other methods (with Allow), 404 for one that does not.
  const assetPaths = assets.length > 0 ? assets.map((asset) => ({ method: 'get', path: asset.url })) : assetsDir === null ? [] : [{ method: 'get', path: '/' }];
  const known = [...specs, eventsSpec, { method: 'get', path: '/openapi.json' }, ...assetPaths].map((spec) => ({
    pattern: new RegExp(`^${spec.path.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`)).replace(/\{\w+\}/g, '[^/]+')}$`),
    method: spec.method.toUpperCase(),
  }));
  const notFound = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = [...new Set(known.filter((entry) => entry.pattern.test(path)).map((entry) => entry.method))];
    if (allowed.length > 0) {
      if (allowed.includes('GET')) allowed.push('HEAD');
      const error = new ApiError(405, 'method_not_allowed', `${request.method} is not allowed on ${path}: use ${allowed.join(', ')}`, [], { allow: allowed.join(', ') });
      return sendError(reply, error, request, log);
    }
    return sendError(reply, new ApiError(404, 'not_found', `no endpoint ${request.method} ${path}: see /openapi.json`), request, log);
  };
  app.setNotFoundHandler(notFound);
  app.setErrorHandler((error, request, reply) => {
    // A method no route has (QUERY, PATCH…) fails reading its body on the way to the 404
    // handler: it is still a 404 or a 405.
    if (request.is404) return notFound(request, reply);
    const status = (error as { statusCode?: unknown }).statusCode;
    // Anything that went wrong reading the body (a multipart body without a boundary, a part
    // without headers) is the request's fault.
    if (!handled.has(request) && typeof status !== 'number' && !(error instanceof ApiError)) {
      const said = error instanceof Error ? error.message : String(error);
      return sendError(reply, new ApiError(400, 'invalid_request', `the body could not be read: ${said}`, [{ field: 'body', message: said }]), request, log);
    }
    return sendError(reply, error, request, log);
  });

  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('cache-control', 'no-store');
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    log.info('request', { id: request.id, method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) });
    done();
  });
  // A client gone before its answer still gets its line: what it asked may have been applied.
  app.addHook('onRequestAbort', (request, done) => {
    log.info('request', { id: request.id, method: request.method, url: request.url, status: null, aborted: true });
    done();
  });
  // Closing: the answers still in flight say `Connection: close`, so that their connections end
  // with them. close() ends only the connections idle at that moment: a keep-alive one busy then
  // would hold the exit until its keep-alive timeout (72 s).
  let closing = false;
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  // Streams stay open: closing ends them (after a last message), so that close() is not held up.
  app.addHook('preClose', (done) => {
    closing = true;
    for (const stream of streams) stream.end('event: bye\ndata: {}\n\n');
    streams.clear();
    done();
  });
  return app;
}

function sendAsset(asset: Asset, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  void reply
    .type(asset.type)
    .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('vary', 'accept-encoding');
  if (asset.type.startsWith('text/html')) void reply.header('content-security-policy', DASHBOARD_CSP).header('referrer-policy', 'no-referrer');
  const accepts = request.headers['accept-encoding'];
  if (asset.gzip && typeof accepts === 'string' && /\bgzip\b/.test(accepts)) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

function sendError(reply: FastifyReply, error: unknown, request: FastifyRequest, log: Logger): FastifyReply {
  const service = unavailableService(error);
  const answer = toErrorAnswer(service && !(error instanceof ServiceUnavailableError) ? new ServiceUnavailableError(service, 'the configured address', error) : error);
  if (answer.internal) {
    log.warn('request failed', { id: request.id, method: request.method, url: request.url, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  return reply.code(answer.status).headers(answer.headers).type('application/json; charset=utf-8').send(answer.body);
}

function streamEvents(request: FastifyRequest, reply: FastifyReply, feed: Feed, streams: Set<ServerResponse>, log: Logger): void {
  void reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-request-id': request.id,
    'x-accel-buffering': 'no',
  });
  raw.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
  let sent = 0;
  const unsubscribe = feed.subscribe((message) => {
    // A reader that does not keep up is let go (it reconnects), not buffered without end.
    if (raw.writableLength > 1 << 20) {
      raw.destroy();
      return;
    }
    sent += 1;
    raw.write(`id: ${sent}\nevent: ${message.kind}\ndata: ${JSON.stringify(message)}\n\n`);
  });
  const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
  ping.unref();
  streams.add(raw);
  const started = Date.now();
  raw.on('close', () => {
    clearInterval(ping);
    unsubscribe();
    streams.delete(raw);
    log.info('request', { id: request.id, method: request.method, url: request.url, status: 200, ms: Date.now() - started, messages: sent });
  });
}
