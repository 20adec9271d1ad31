import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { idSchema, MAX_RESERVATION_ID_LENGTH, storeIdSchema } from '../domain/events.js';
import { LIMITS } from '../domain/limits.js';
import { customerSorts, productSorts, purchaseSorts } from '../services/read.js';

// The API's requests and answers, as zod schemas: the same id rules and limits as the command
// line (domain/events, domain/limits), checked on every request, and the source of
// /openapi.json (server/openapi.ts). Each schema says exactly what is accepted: an outside
// client fuzzing from the document (schemathesis, in CI) sends what the document calls invalid
// and expects a 4xx.

extendZodWithOpenApi(z);

/** The longest hold, as `reserve --ttl` allows (30 days). */
export const TTL_MAX_SECONDS = 30 * 86_400;

/** Largest page of a listing. */
export const MAX_PAGE = 1000;

/** A whole number in a query string or a form field ("20"), strictly digits. */
const digits = (value: unknown): unknown => (typeof value === 'string' && /^-?[0-9]+$/.test(value) ? Number(value) : value);

/** A whole number from min to max; in a query string, written in digits. */
export const queryInt = (min: number, max: number) => z.preprocess(digits, z.number().int().min(min).max(max));

const sku = idSchema.openapi({ description: 'a SKU', example: 'SKU-4F7QX2AB' });
const store = storeIdSchema.openapi({ description: 'a store or warehouse id', example: 'berlin' });
const customer = idSchema.openapi({ description: 'a customer id', example: '2c1c5d0e-3f4a-4b7e-9a34-0f6f1d2a7b11' });
export const reservationId = idSchema.max(MAX_RESERVATION_ID_LENGTH).openapi({ description: 'a reservation id', example: 'r-1001' });

const int = (range: { min: number; max: number }) => z.number().int().min(range.min).max(range.max);

// ---- errors ------------------------------------------------------------------------------------

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'stable, machine-readable', example: 'invalid_request' }),
      message: z.string().openapi({ example: "body.quantity: Number must be greater than or equal to 1" }),
      details: z.array(z.object({ field: z.string().optional(), message: z.string() })),
    }),
  })
  .openapi('Error');

// ---- paging ------------------------------------------------------------------------------------

const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/)
  .openapi({ description: 'the `nextCursor` of the page before' });
const limit = queryInt(1, MAX_PAGE).optional().openapi({ description: `rows per page (1-${MAX_PAGE}, default 20)` });

const sortsOf = <S extends string>(sorts: Record<S, unknown>) => Object.keys(sorts) as [S, ...S[]];

export const customersQuery = z.object({ limit, cursor: cursor.optional(), sort: z.enum(sortsOf(customerSorts)).optional().openapi({ description: 'default: name' }) });
export const productsQuery = z.object({ limit, cursor: cursor.optional(), sort: z.enum(sortsOf(productSorts)).optional().openapi({ description: 'default: sku' }) });
export const purchasesQuery = z.object({
  limit,
  cursor: cursor.optional(),
  sort: z.enum(sortsOf(purchaseSorts)).optional().openapi({ description: 'default: latest' }),
  customer: customer.optional(),
});

const page = <T extends z.ZodTypeAny>(item: T, name: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable().openapi({ description: 'null on the last page' }) }).openapi(name);

const money = z.object({ amount: z.number().int(), currency: z.string() }).openapi('Money');

export const customerRow = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    city: z.string(),
    purchases: z.number().int(),
    owns: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
    firstName: z.string(),
    lastName: z.string(),
    address: z.object({}).passthrough(),
    locale: z.string(),
    registeredAt: z.string(),
  })
  .openapi('Customer');
export const productRow = z
  .object({ sku: z.string(), name: z.string(), category: z.string(), price: money, sold: z.number().int(), revenue: money, addedAt: z.string() })
  .openapi('Product');
export const purchaseRow = z
  .object({ id: z.string(), time: z.string(), customer: z.string(), sku: z.string(), store: z.string(), quantity: z.number().int(), unitPrice: money, total: money })
  .openapi('Purchase');
export const customersPage = page(customerRow, 'CustomersPage');
export const productsPage = page(productRow, 'ProductsPage');
export const purchasesPage = page(purchaseRow, 'PurchasesPage');

// ---- stock -------------------------------------------------------------------------------------

const freshness = z.enum(['fresh', 'stale', 'unknown']).openapi({ description: "the store's heartbeat against availability.staleAfterSeconds; unknown: it never sent one" });

export const stockQuery = z.object({ sku: sku.optional(), store: store.optional(), limit: queryInt(1, MAX_PAGE).optional().openapi({ description: `rows per page (1-${MAX_PAGE}, default 100)` }), cursor: cursor.optional() });
export const stockRow = z
  .object({
    store: z.string(),
    sku: z.string(),
    onHand: z.number().int(),
    pending: z.number().int().openapi({ description: 'held by open reservations' }),
    available: z.number().int().openapi({ description: 'available to promise: on hand - pending - safety margin, never below 0' }),
    margin: z.number().int(),
    threshold: z.number().int(),
    status: z.enum(['ok', 'low', 'out']),
    freshness,
    ageMs: z.number().int().nullable().openapi({ description: 'since the store\'s last heartbeat (null: never)' }),
    lastHeartbeat: z.string().nullable(),
    updatedAt: z.string(),
    inCatalogue: z.boolean(),
  })
  .openapi('StockLevel');
export const stockPage = page(stockRow, 'StockPage');
export const globalQuery = z.object({ sku: sku.optional() });
export const globalRow = z
  .object({
    sku: z.string(),
    onHand: z.number().int(),
    pending: z.number().int(),
    available: z.number().int(),
    availableAtStaleStores: z.number().int().openapi({ description: 'of available, the units at stale stores' }),
    stores: z.number().int(),
    staleStores: z.number().int(),
    inCatalogue: z.boolean(),
  })
  .openapi('GlobalStock');

export const historyQuery = z.object({
  sku,
  store: store.optional().openapi({ description: 'only this store (default: every store)' }),
  limit: queryInt(1, MAX_PAGE).optional().openapi({ description: `the latest this many changes (1-${MAX_PAGE}, default 100)` }),
});
export const historyRow = z
  .object({
    time: z.string().openapi({ description: 'event time' }),
    event: z.string().openapi({ description: 'the event id' }),
    type: z.string().openapi({ description: 'incoming, sale, count, purchase or fulfilment' }),
    store: z.string(),
    sku: z.string(),
    change: z.number().int().nullable().openapi({ description: 'units (+ in, - out); null for a count, which sets the level' }),
    level: z.number().int().openapi({ description: 'the level it left' }),
  })
  .openapi('StockChangeRow');
export const historyAnswer = z
  .object({ items: z.array(historyRow).openapi({ description: 'the latest changes, oldest first' }), total: z.number().int().openapi({ description: 'changes in the journal for this filter' }) })
  .openapi('StockHistory');

/** Goods received, or sold at the store. */
export const changeBody = z.object({ store: store.optional().openapi({ description: 'default: inventory.defaultStore' }), sku, quantity: int(LIMITS.stockQuantity) }).strict().openapi('StockChange');
export const countBody = z.object({ store: store.optional().openapi({ description: 'default: inventory.defaultStore' }), sku, level: int(LIMITS.level) }).strict().openapi('StockCount');

export const writeResult = z
  .object({
    status: z.enum(['applied', 'duplicate', 'published']).openapi({ description: 'applied (db), applied before (db), or published to Kafka for `shopctl consume` (kafka)' }),
    via: z.enum(['db', 'kafka']),
    eventId: z.string(),
  })
  .openapi('WriteResult');
export const stockWriteResult = writeResult.extend({ store: z.string(), sku: z.string() }).openapi('StockWriteResult');

// ---- the inventory case study's calls ----------------------------------------------------------

export const inventoryBody = z
  .object({
    productID: sku.openapi({ description: 'the product (its SKU)' }),
    availableQuantity: int(LIMITS.level).openapi({ description: 'units counted: the new level at the default store' }),
  })
  .strict()
  .openapi('InventoryCount');
export const inventoryResult = writeResult.extend({ productID: z.string(), availableQuantity: z.number().int(), store: z.string() }).openapi('InventoryCountResult');
export const inventoryQuery = z.object({ store: store.optional().openapi({ description: 'default: inventory.defaultStore' }) });
export const inventoryRow = z.object({ productID: z.string(), availableQuantity: z.number().int() }).openapi('Inventory');
export const salesQuery = z.object({
  top: queryInt(1, MAX_PAGE).optional().openapi({ description: `how many products (1-${MAX_PAGE}, default 10)` }),
  since: z.string().max(100).optional().openapi({ description: 'an ISO date/time, or a duration back from now (90s, 15m, 2h, 1d, 1w)' }),
});
export const salesRow = z
  .object({ sku: z.string(), name: z.string().nullable(), quantity: z.number().int(), revenue: money.nullable().openapi({ description: 'null: no purchase (store sales carry no price)' }) })
  .openapi('Sales');

// ---- purchases ---------------------------------------------------------------------------------

export const purchaseBody = z
  .object({
    customer,
    product: sku.openapi({ description: 'the SKU bought' }),
    quantity: int(LIMITS.purchaseQuantity).optional().openapi({ description: 'default 1' }),
    store: store.optional().openapi({ description: 'default: inventory.defaultStore' }),
  })
  .strict()
  .openapi('PurchaseRequest');
export const purchaseResult = writeResult.extend({ id: z.string(), customer: z.string(), sku: z.string(), store: z.string(), quantity: z.number().int(), total: money }).openapi('PurchaseResult');

// ---- reservations ------------------------------------------------------------------------------

export const reservationBody = z
  .object({
    customer,
    sku,
    store: store.optional().openapi({ description: 'default: inventory.defaultStore' }),
    quantity: int(LIMITS.purchaseQuantity),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(TTL_MAX_SECONDS)
      .optional()
      .openapi({ description: 'how long the hold lasts, in seconds: 1 to 2,592,000 (30 days; default: availability.reservationTtl)' }),
    id: reservationId.optional().openapi({ description: 'the reservation id, an idempotency key (default: a random one)' }),
    allowStale: z.boolean().optional().openapi({ description: 'reserve at a stale store all the same' }),
  })
  .strict()
  .openapi('ReservationRequest');

const reservationStatus = z.enum(['requested', 'confirmed', 'rejected', 'fulfilled', 'failed', 'cancelled', 'expired']).openapi({
  description: 'requested: published, not decided yet (kafka); confirmed: the units are held',
});
export const reservationRow = z
  .object({
    id: z.string(),
    status: reservationStatus,
    reason: z.string().nullable(),
    message: z.string().nullable(),
    customer: z.string(),
    store: z.string(),
    sku: z.string(),
    quantity: z.number().int(),
    expiresAt: z.string(),
    requestedAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
  })
  .openapi('Reservation');
export const reservationParams = z.object({ id: reservationId });

// ---- health ------------------------------------------------------------------------------------

const reach = z.object({ reachable: z.boolean(), ms: z.number().int().nullable(), error: z.string().nullable() });
export const health = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    kafka: reach,
    mongodb: reach,
    stores: z.object({
      fresh: z.number().int(),
      stale: z.number().int(),
      unknown: z.number().int(),
      list: z.array(z.object({ store: z.string(), freshness, ageMs: z.number().int().nullable() })),
    }),
  })
  .openapi('Health');

export const reservationAnswer = z
  .object({
    id: z.string(),
    status: reservationStatus,
    changed: z.boolean().openapi({ description: 'false: the same request was answered before' }),
    reason: z.string().nullable(),
    message: z.string().nullable(),
    customer: z.string(),
    store: z.string(),
    sku: z.string(),
    quantity: z.number().int(),
    expiresAt: z.string(),
    via: z.enum(['db', 'kafka']),
    eventId: z.string(),
  })
  .openapi('ReservationAnswer');

// ---- analytics ---------------------------------------------------------------------------------

const percent = z.number().min(0).nullable();
export const positionQuery = z.object({
  sku: sku.optional(),
  top: queryInt(1, MAX_PAGE).optional().openapi({ description: `only the n SKUs with most on hand (1-${MAX_PAGE}; default: all)` }),
});
export const positionRow = z
  .object({
    sku: z.string(),
    name: z.string().nullable(),
    onHand: z.number().int(),
    pending: z.number().int(),
    available: z.number().int(),
    maxOnHand: z.number().int().openapi({ description: 'the highest summed on-hand the projection ever applied' }),
    rangePercent: percent.openapi({ description: 'onHand as a percentage of maxOnHand, one decimal; null: it never had any' }),
    stores: z.number().int(),
    staleStores: z.number().int(),
  })
  .openapi('Position');
export const capacityRow = z
  .object({
    store: z.string(),
    city: z.string().nullable(),
    lat: z.number().nullable(),
    lon: z.number().nullable(),
    capacity: z.number().int().nullable().openapi({ description: 'units; null: never defined (`shopctl stores add`)' }),
    onHand: z.number().int(),
    usedPercent: percent.openapi({ description: 'onHand / capacity; null without a capacity' }),
    sharePercent: percent.openapi({ description: "the store's share of the chain's units on hand" }),
    freshness,
  })
  .openapi('Capacity');
export const rangeQuery = z.object({
  lowest: queryInt(1, MAX_PAGE).optional().openapi({ description: `only the n lowest (1-${MAX_PAGE}; default: all)` }),
  store: store.optional().openapi({ description: "only this store's levels (no global rows)" }),
});
export const rangeRow = z
  .object({
    sku: z.string(),
    store: z.string().nullable().openapi({ description: 'null: the global position, summed over stores' }),
    level: z.number().int(),
    maxLevel: z.number().int(),
    percent: percent.openapi({ description: 'level as a percentage of maxLevel; null: it never had any' }),
  })
  .openapi('Range');
export const lowQuery = z.object({
  limit: queryInt(1, MAX_PAGE).optional().openapi({ description: `rows (1-${MAX_PAGE}, default 20)` }),
  below: queryInt(0, LIMITS.level.max).optional().openapi({ description: 'only SKUs with at most this many available (default: inventory.lowStockThreshold)' }),
});
export const topSellersQuery = z.object({
  window: z
    .string()
    .regex(/^[0-9]{1,6}[smhdw]$/, 'a duration: a whole number and s, m, h, d or w (90s, 15m, 1h, 1d, 1w)')
    .optional()
    .openapi({ description: 'a duration back from now: 90s, 15m, 1h, 1d, 1w (default 1h)', example: '1h' }),
  top: queryInt(1, MAX_PAGE).optional().openapi({ description: `how many products (1-${MAX_PAGE}, default 10)` }),
});
