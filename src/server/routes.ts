import { z } from 'zod';
import { parseDuration } from '../domain/availability.js';
import { createEvent, type ShopEvent } from '../domain/events.js';
import { multiply } from '../domain/money.js';
import { parseSince } from '../domain/since.js';
import { stockStatus } from '../domain/stock-level.js';
import { singlePurchaseEvent } from '../services/buy.js';
import type { Context } from '../services/context.js';
import { checkHealth } from '../services/health.js';
import { context as eventContext } from '../services/make.js';
import { listCustomers, listProducts, listPurchases, salesReport } from '../services/read.js';
import { closeReservation, requestReservation, showReservation, type ReservationAnswer } from '../services/reservations.js';
import { createRuntime } from '../services/runtime.js';
import { capacityReport, lowReport, positionReport, rangeReport, topSellers } from '../services/analytics.js';
import { availableStock, globalStock, stockHistory, type AvailableRow } from '../services/stock.js';
import { answerJson, reservationJson } from '../ui/reservations.js';
import { customerJson, globalJson, productJson, purchaseJson } from '../ui/rows.js';
import { ApiError } from './errors.js';
import { route, type Answer, type RouteSpec } from './route.js';
import * as s from './schemas.js';

export interface RouteDeps {
  context: Context;
  via: 'db' | 'kafka';
  now: () => Date;
}

// ---- paging: an opaque cursor that carries the offset of the next page ----------------------

/** How deep a cursor may page: beyond it, a narrower sort or filter is the way. */
export const MAX_OFFSET = 100_000;

const encodeCursor = (offset: number): string => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  try {
    const { o } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0 && o <= MAX_OFFSET) return o;
  } catch {
    // not one of ours: said below
  }
  throw new ApiError(400, 'invalid_request', 'query.cursor: not a cursor this server gave (use the nextCursor of the page before)', [{ field: 'query.cursor', message: 'unknown cursor' }]);
}

/** A page from rows read up to one past it: the next cursor when there is more. */
async function paged<T, R>(cursor: string | undefined, limit: number, read: (upTo: number) => Promise<T[]>, shape: (row: T) => R): Promise<{ items: R[]; nextCursor: string | null }> {
  const offset = offsetOf(cursor);
  const rows = await read(offset + limit + 1);
  const items = rows.slice(offset, offset + limit).map(shape);
  const more = rows.length > offset + limit && offset + limit <= MAX_OFFSET;
  return { items, nextCursor: more ? encodeCursor(offset + limit) : null };
}

const ok = (body: unknown, status = 200, headers?: Record<string, string>): Answer => ({ status, body, ...(headers ? { headers } : {}) });

// ---- rows --------------------------------------------------------------------------------------

function stockRowOf(row: AvailableRow, now: Date) {
  const heard = row.lastHeartbeat === null ? null : Date.parse(row.lastHeartbeat);
  return {
    store: row.store,
    sku: row.sku,
    onHand: row.level,
    pending: row.pending,
    available: row.available,
    margin: row.margin,
    threshold: row.threshold,
    status: stockStatus(row.level, row.threshold),
    freshness: row.freshness,
    ageMs: heard === null || Number.isNaN(heard) ? null : Math.max(0, now.getTime() - heard),
    lastHeartbeat: row.lastHeartbeat,
    updatedAt: row.updatedAt,
    inCatalogue: row.inCatalogue,
  };
}

const reservationAnswerJson = (answer: ReservationAnswer) => answerJson(answer);

// ---- the routes --------------------------------------------------------------------------------

const errors = (...statuses: number[]): Record<number, { description: string; schema: typeof s.errorSchema }> =>
  Object.fromEntries(statuses.map((status) => [status, { description: ERROR_TEXT[status] ?? 'error', schema: s.errorSchema }]));

const ERROR_TEXT: Record<number, string> = {
  400: 'the request is invalid: the error names each field',
  404: 'no such thing',
  409: 'conflicts with what is there (an id taken by another request, a closed reservation, a stale store)',
  422: 'refused by the shop (unknown customer or product, not enough stock)',
};

export function routes(deps: RouteDeps): RouteSpec[] {
  const { context, via, now } = deps;
  const { config } = context;
  const db = async () => (await context.database()).db;
  const defaultStore = config.inventory.defaultStore;
  // Reservations requested through Kafka by this server and not projected yet: GET says
  // `requested` rather than 404. Bounded: the oldest are forgotten first.
  const requested = new Map<string, ReservationAnswer>();
  const remember = (answer: ReservationAnswer): void => {
    requested.delete(answer.id);
    requested.set(answer.id, answer);
    if (requested.size > 10_000) requested.delete(requested.keys().next().value as string);
  };
  const projected = async (id: string): Promise<boolean> =>
    showReservation(context, id).then(
      () => true,
      (error: unknown) => {
        if ((error as { code?: string }).code === 'RESERVATION_NOT_FOUND') return false;
        throw error;
      },
    );

  // One check at a time, and none again within a second: a load balancer probing often costs
  // one Kafka and one MongoDB round-trip a second, not one per probe.
  let lastHealth: { at: number; answer: Promise<Awaited<ReturnType<typeof checkHealth>>> } | null = null;
  const healthNow = () => {
    const at = Date.now();
    if (!lastHealth || at - lastHealth.at > 1000) lastHealth = { at, answer: checkHealth(context, now()) };
    return lastHealth.answer;
  };

  const fields = (kind: string) => {
    const runtime = createRuntime(null);
    return eventContext(runtime, runtime.ids(kind)());
  };

  /** One event through this server's path: 200 when applied (db), 202 when published (kafka). */
  const writeOne = async (event: ShopEvent): Promise<{ status: number; body: { status: 'applied' | 'duplicate' | 'published'; via: 'db' | 'kafka'; eventId: string } }> => {
    const [outcome] = await (await context.writer(via)).write([event]);
    if (!outcome) throw new Error('the writer gave no outcome');
    if (outcome.status === 'rejected') {
      throw new ApiError(outcome.reason === 'id_conflict' ? 409 : 422, outcome.reason, outcome.message);
    }
    return { status: outcome.status === 'published' ? 202 : 200, body: { status: outcome.status, via, eventId: event.id } };
  };

  const written = (description: string, schema: z.ZodTypeAny) => ({
    200: { description: `${description} (--via db: applied now)`, schema },
    202: { description: `${description} (--via kafka: published; applied when \`shopctl consume\` reads it)`, schema },
  });

  const stockChange = (path: 'receive' | 'sell' | 'count', summary: string) =>
    route({
      method: 'post',
      path: `/stock/${path}`,
      operationId: `stock${path[0]!.toUpperCase()}${path.slice(1)}`,
      summary,
      tag: 'stock',
      writes: true,
      body: { schema: path === 'count' ? s.countBody : s.changeBody, forms: true },
      responses: { ...written('recorded', s.stockWriteResult), ...errors(400, 422) },
      handler: async ({ body }) => {
        const input = body as { store?: string; sku: string; quantity?: number; level?: number };
        const store = input.store ?? defaultStore;
        const event =
          path === 'count'
            ? createEvent('shop.stock.counted.v1', { store, sku: input.sku, level: input.level! }, fields('api stock count'))
            : createEvent(path === 'receive' ? 'shop.stock.received.v1' : 'shop.stock.sold.v1', { store, sku: input.sku, quantity: input.quantity! }, fields(`api stock ${path}`));
        const result = await writeOne(event);
        return ok({ ...result.body, store, sku: input.sku }, result.status);
      },
    });

  return [
    route({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'Kafka and MongoDB reachability, and the freshness of each store',
      tag: 'service',
      writes: false,
      responses: { 200: { description: 'both reachable', schema: s.health }, 503: { description: 'one of them is not', schema: s.health } },
      handler: async () => {
        const health = await healthNow();
        return health.status === 'ok' ? ok(health) : ok(health, 503, { 'retry-after': '5' });
      },
    }),

    // ---- the inventory case study's calls ----
    route({
      method: 'post',
      path: '/inventory',
      operationId: 'inventoryCount',
      summary: 'Record a stock count of a product at the default store (the inventory case study\'s call)',
      description: 'As the case study\'s client sends it: `curl --form availableQuantity=10 --form productID=SKU-1 http://127.0.0.1:8080/inventory`. Also urlencoded or JSON.',
      tag: 'inventory (compatible)',
      writes: true,
      body: { schema: s.inventoryBody, forms: true },
      responses: { ...written('recorded', s.inventoryResult), ...errors(400, 422) },
      handler: async ({ body }) => {
        const event = createEvent('shop.stock.counted.v1', { store: defaultStore, sku: body.productID, level: body.availableQuantity }, fields('api inventory'));
        const result = await writeOne(event);
        return ok({ ...result.body, productID: body.productID, availableQuantity: body.availableQuantity, store: defaultStore }, result.status);
      },
    }),
    route({
      method: 'get',
      path: '/inventory',
      operationId: 'inventoryList',
      summary: 'The latest available quantity of each product at the default store (the inventory case study\'s call)',
      tag: 'inventory (compatible)',
      writes: false,
      query: s.inventoryQuery,
      responses: { 200: { description: 'one row per product', schema: z.array(s.inventoryRow) }, ...errors(400) },
      handler: async ({ query }) => {
        const rows = await availableStock(await db(), config, { store: query.store ?? defaultStore }, now());
        return ok(rows.map((row) => ({ productID: row.sku, availableQuantity: row.level })));
      },
    }),
    route({
      method: 'get',
      path: '/sales',
      operationId: 'sales',
      summary: 'The top-selling products: units sold and purchase revenue',
      tag: 'inventory (compatible)',
      writes: false,
      query: s.salesQuery,
      responses: { 200: { description: 'most sold first', schema: z.array(s.salesRow) }, ...errors(400) },
      handler: async ({ query }) => {
        let since: string | undefined;
        if (query.since !== undefined) {
          const at = parseSince(query.since, now());
          if (!at) throw new ApiError(400, 'invalid_request', `query.since: '${query.since}' is neither an ISO date/time nor a duration (90s, 15m, 2h, 1d, 1w)`, [{ field: 'query.since', message: 'not a date or a duration' }]);
          since = at.toISOString();
        }
        const rows = await salesReport(await db(), { top: query.top ?? 10, since });
        return ok(rows.map((row) => ({ sku: row.sku, name: row.name, quantity: row.quantity, revenue: row.currency ? { amount: row.revenue, currency: row.currency } : null })));
      },
    }),

    // ---- stock and availability ----
    route({
      method: 'get',
      path: '/stock',
      operationId: 'stock',
      summary: 'Per store and SKU: on hand, pending, available to promise, and the store\'s freshness',
      tag: 'stock',
      writes: false,
      query: s.stockQuery,
      responses: { 200: { description: 'by store, then SKU', schema: s.stockPage }, ...errors(400) },
      handler: async ({ query }) => {
        const at = now();
        const filter = { ...(query.sku !== undefined ? { sku: query.sku } : {}), ...(query.store !== undefined ? { store: query.store } : {}) };
        return ok(await paged(query.cursor, query.limit ?? 100, async () => availableStock(await db(), config, filter, at), (row) => stockRowOf(row, at)));
      },
    }),
    route({
      method: 'get',
      path: '/stock/global',
      operationId: 'stockGlobal',
      summary: 'Per SKU, summed over every store (units at stale stores counted apart)',
      tag: 'stock',
      writes: false,
      query: s.globalQuery,
      responses: { 200: { description: 'by SKU', schema: z.array(s.globalRow) }, ...errors(400) },
      handler: async ({ query }) => ok((await globalStock(await db(), config, query.sku !== undefined ? { sku: query.sku } : {}, now())).map(globalJson)),
    }),
    // ---- analytics (kept by the projection; see docs/report.md) ----
    route({
      method: 'get',
      path: '/analytics/position',
      operationId: 'analyticsPosition',
      summary: 'Global position per SKU, summed over stores: on hand, pending, available, the highest on hand ever and the range',
      tag: 'analytics',
      writes: false,
      query: s.positionQuery,
      responses: { 200: { description: 'most on hand first', schema: z.array(s.positionRow) }, ...errors(400) },
      handler: async ({ query }) => ok(await positionReport(context, { sku: query.sku, top: query.top }, now())),
    }),
    route({
      method: 'get',
      path: '/analytics/capacity',
      operationId: 'analyticsCapacity',
      summary: "Per store: units on hand against its capacity, and its share of the chain's stock",
      tag: 'analytics',
      writes: false,
      responses: { 200: { description: 'most used first', schema: z.array(s.capacityRow) } },
      handler: async () => ok(await capacityReport(context, now())),
    }),
    route({
      method: 'get',
      path: '/analytics/range',
      operationId: 'analyticsRange',
      summary: 'Stock against its historical range: level as a percentage of the highest ever, globally (store null) and per store',
      tag: 'analytics',
      writes: false,
      query: s.rangeQuery,
      responses: { 200: { description: 'lowest first', schema: z.array(s.rangeRow) }, ...errors(400) },
      handler: async ({ query }) => ok(await rangeReport(context, { lowest: query.lowest, store: query.store })),
    }),
    route({
      method: 'get',
      path: '/analytics/low',
      operationId: 'analyticsLow',
      summary: 'The SKUs with the least available summed over all stores, lowest first',
      tag: 'analytics',
      writes: false,
      query: s.lowQuery,
      responses: { 200: { description: 'lowest global available first', schema: z.array(s.positionRow) }, ...errors(400) },
      handler: async ({ query }) => ok(await lowReport(context, { below: query.below ?? config.inventory.lowStockThreshold, limit: query.limit ?? 20 }, now())),
    }),
    route({
      method: 'get',
      path: '/analytics/top-sellers',
      operationId: 'analyticsTopSellers',
      summary: 'The best sellers over a window: units sold (purchases and store sales) and purchase revenue',
      tag: 'analytics',
      writes: false,
      query: s.topSellersQuery,
      responses: { 200: { description: 'most sold first', schema: z.array(s.salesRow) }, ...errors(400) },
      handler: async ({ query }) => {
        const rows = await topSellers(context, { window: query.window ?? '1h', top: query.top ?? 10 }, now());
        if (!rows) throw new ApiError(400, 'invalid_request', `query.window: '${query.window ?? ''}' is not a duration`, [{ field: 'query.window', message: 'not a duration' }]);
        return ok(rows.map((row) => ({ sku: row.sku, name: row.name, quantity: row.quantity, revenue: row.currency ? { amount: row.revenue, currency: row.currency } : null })));
      },
    }),
    route({
      method: 'get',
      path: '/stock/history',
      operationId: 'stockHistory',
      summary: 'The journal of one SKU (at one store, or all): each applied change with its time, type and the level it left, as `shopctl history`',
      tag: 'stock',
      writes: false,
      query: s.historyQuery,
      responses: { 200: { description: 'in event time order', schema: s.historyAnswer }, ...errors(400) },
      handler: async ({ query }) => {
        const all = await stockHistory(await db(), query.sku, query.store);
        return ok({ items: all.slice(Math.max(0, all.length - (query.limit ?? 100))), total: all.length });
      },
    }),
    stockChange('receive', 'Goods received at a store: the level goes up'),
    stockChange('sell', 'A sale at the store: the level goes down, never below zero (422 insufficient_stock)'),
    stockChange('count', 'A stock count: sets the absolute level'),

    // ---- reservations ----
    route({
      method: 'post',
      path: '/reservation',
      operationId: 'reserve',
      summary: 'Ask a store to hold units for a customer',
      description:
        'Answers 202 with the reservation and its Location. With --via db the store has decided already (status confirmed or rejected with a reason); with --via kafka the status is `requested` until `shopctl consume` applies it. Sending the same `id` again is answered from the first request.',
      tag: 'reservations',
      writes: true,
      body: { schema: s.reservationBody, forms: true },
      responses: {
        202: { description: 'accepted: see its status', schema: s.reservationAnswer, headers: { Location: 'the reservation: /reservation/{id}' } },
        ...errors(400, 409),
      },
      handler: async ({ body }) => {
        const store = body.store ?? defaultStore;
        // An id this server published and the database does not know yet: published again, it
        // would be another event under the same id (another expiry), and another request under it
        // would be dead-lettered. This server knows what it sent: a repeat or a conflict.
        const waiting = body.id === undefined ? undefined : requested.get(body.id);
        if (waiting && !(await projected(waiting.id))) {
          if (waiting.customerId !== body.customer || waiting.store !== store || waiting.sku !== body.sku || waiting.quantity !== body.quantity) {
            throw new ApiError(409, 'id_conflict', `reservation id '${waiting.id}' is taken by another request (customer '${waiting.customerId}', ${waiting.quantity} × ${waiting.sku} at store '${waiting.store}')`);
          }
          return ok(reservationAnswerJson({ ...waiting, changed: false }), 202, { location: `/reservation/${encodeURIComponent(waiting.id)}` });
        }
        const ttlMs = body.ttlSeconds !== undefined ? body.ttlSeconds * 1000 : (parseDuration(config.availability.reservationTtl) ?? 900_000);
        const answer = await requestReservation(
          context,
          { customer: body.customer, sku: body.sku, store, quantity: body.quantity, ttlMs, id: body.id, allowStale: body.allowStale ?? false, via },
          now(),
        );
        if (answer.status === 'requested') remember(answer);
        return ok(reservationAnswerJson(answer), 202, { location: `/reservation/${encodeURIComponent(answer.id)}` });
      },
    }),
    route({
      method: 'get',
      path: '/reservation/{id}',
      operationId: 'reservation',
      summary: 'A reservation and its status',
      tag: 'reservations',
      writes: false,
      params: s.reservationParams,
      responses: { 200: { description: 'the reservation', schema: s.reservationRow }, ...errors(400, 404) },
      handler: async ({ params }) => {
        try {
          return ok(reservationJson(await showReservation(context, params.id)));
        } catch (error) {
          const waiting = requested.get(params.id);
          if (waiting && (error as { code?: string }).code === 'RESERVATION_NOT_FOUND') {
            return ok({ id: waiting.id, status: 'requested', reason: null, message: null, customer: waiting.customerId, store: waiting.store, sku: waiting.sku, quantity: waiting.quantity, expiresAt: waiting.expiresAt, requestedAt: null, updatedAt: null });
          }
          throw error;
        }
      },
    }),
    route({
      method: 'delete',
      path: '/reservation/{id}',
      operationId: 'cancelReservation',
      summary: 'Cancel an open reservation: its hold is released',
      tag: 'reservations',
      writes: true,
      params: s.reservationParams,
      responses: {
        200: { description: 'cancelled (--via db)', schema: s.reservationAnswer },
        202: { description: 'cancellation published (--via kafka)', schema: s.reservationAnswer },
        ...errors(400, 404, 409),
      },
      handler: async ({ params }) => {
        const answer = await closeReservation(context, 'cancelled', params.id, via, now(), requested.get(params.id));
        return ok(reservationAnswerJson(answer), answer.status === 'requested' ? 202 : 200);
      },
    }),

    // ---- the shop ----
    route({
      method: 'get',
      path: '/products',
      operationId: 'products',
      summary: 'The catalogue, a page at a time',
      tag: 'shop',
      writes: false,
      query: s.productsQuery,
      responses: { 200: { description: 'a page', schema: s.productsPage }, ...errors(400) },
      handler: async ({ query }) => ok(await paged(query.cursor, query.limit ?? 20, async (upTo) => listProducts(await db(), query.sort ?? 'sku', upTo), productJson)),
    }),
    route({
      method: 'get',
      path: '/customers',
      operationId: 'customers',
      summary: 'Customers with their purchases and what they own, a page at a time',
      tag: 'shop',
      writes: false,
      query: s.customersQuery,
      responses: { 200: { description: 'a page', schema: s.customersPage }, ...errors(400) },
      handler: async ({ query }) => ok(await paged(query.cursor, query.limit ?? 20, async (upTo) => listCustomers(await db(), query.sort ?? 'name', upTo), customerJson)),
    }),
    route({
      method: 'get',
      path: '/purchases',
      operationId: 'purchases',
      summary: 'Purchases, a page at a time (of one customer with ?customer=)',
      tag: 'shop',
      writes: false,
      query: s.purchasesQuery,
      responses: { 200: { description: 'a page', schema: s.purchasesPage }, ...errors(400) },
      handler: async ({ query }) => ok(await paged(query.cursor, query.limit ?? 20, async (upTo) => listPurchases(await db(), query.sort ?? 'latest', upTo, query.customer), purchaseJson)),
    }),
    route({
      method: 'post',
      path: '/purchases',
      operationId: 'buy',
      summary: 'One purchase, with the same checks as `shopctl buy --customer --product`',
      tag: 'shop',
      writes: true,
      body: { schema: s.purchaseBody, forms: true },
      responses: { ...written('the purchase', s.purchaseResult), ...errors(400, 422) },
      handler: async ({ body }) => {
        const store = body.store ?? defaultStore;
        const event = await singlePurchaseEvent(await db(), createRuntime(null), { customerId: body.customer, sku: body.product, quantity: body.quantity ?? 1, store });
        if (event.type !== 'shop.purchase.made.v1') throw new Error(`a purchase made a ${event.type} event`);
        const result = await writeOne(event);
        return ok({ ...result.body, id: event.id, customer: body.customer, sku: body.product, store, quantity: event.data.quantity, total: multiply(event.data.unitPrice, event.data.quantity) }, result.status);
      },
    }),
  ];
}
