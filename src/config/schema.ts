import { z } from 'zod';
import { DURATION_RULE, MARGIN_RULE, parseDuration, parseMargin } from '../domain/availability.js';
import { idProblem, ID_RULE, STORE_ID_RULE } from '../domain/events.js';
import { MAX_SEED } from '../domain/generators.js';
import { DEFAULT_MIX, mixProblem, SIMULATION_KINDS, type SimulationKind } from '../domain/simulation.js';
import { formatRange, LIMITS, type Range } from '../domain/limits.js';

const hostPort = z
  .string()
  .regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:19092');

// Topic names Kafka accepts: letters, digits, '.', '_' and '-', at most 249 characters.
const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, "expected a Kafka topic name (letters, digits, '.', '_', '-')");

const inRange = (range: Range) =>
  z
    .number()
    .int()
    .min(range.min, `expected a whole number from ${formatRange(range, ' to ')}`)
    .max(range.max, `expected a whole number from ${formatRange(range, ' to ')}`);

const id = (kind: 'id' | 'store') =>
  z.string().superRefine((value, ctx) => {
    const problem = idProblem(value, kind);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a valid ${kind === 'store' ? 'store id' : 'SKU'}, ${problem} (${kind === 'store' ? STORE_ID_RULE : ID_RULE})` });
  });

/** A private sandbox: letters, digits, '-' and '_' (it becomes part of topic, group and database names). */
// Lower case only: MongoDB refuses two databases whose names differ only in case, so `Trial` and
// `trial` could not be two sandboxes.
export const NAMESPACE_PATTERN = /^[a-z0-9_-]{1,40}$/;
export const NAMESPACE_RULE = "1-40 lower-case letters, digits, '-' or '_'";

// A safety margin: units (2) or a percentage of the units on hand ('10%').
const margin = z.union([z.number(), z.string()]).superRefine((value, ctx) => {
  if (parseMargin(value) === null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${MARGIN_RULE}, got ${JSON.stringify(value)}` });
});

const duration = z.string().superRefine((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null || ms < 1000 || ms > 30 * 86_400_000) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${DURATION_RULE}, from 1s to 30d, got ${JSON.stringify(value)}` });
});

const saslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    password: z.string().min(1),
  })
  .strict();

export const configSchema = z
  .object({
    namespace: z
      .string()
      .refine((value) => NAMESPACE_PATTERN.test(value), (value) => ({ message: `'${value}' is not a namespace: expected ${NAMESPACE_RULE}` }))
      .nullable(),
    kafka: z
      .object({
        brokers: z.array(hostPort).min(1, 'expected at least one broker'),
        clientId: z.string().min(1),
        groupId: z.string().min(1),
        ssl: z.boolean(),
        sasl: saslSchema.nullable(),
        connectionTimeoutMs: z.number().int().positive(),
        partitions: z.number().int().min(1).max(1000),
        replicationFactor: z.number().int().min(1),
        topics: z
          .object({
            customers: topicName,
            catalog: topicName,
            inventory: topicName,
            retry: topicName,
            dlq: topicName,
            importErrors: topicName,
            alerts: topicName,
            reservations: topicName,
          })
          .strict(),
      })
      .strict(),
    mongodb: z
      .object({
        uri: z.string().regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// URI'),
        db: z.string().regex(/^[^/\\. "$]{1,63}$/, 'expected a database name without / \\ . " $ or spaces'),
        serverSelectionTimeoutMs: z.number().int().positive(),
      })
      .strict(),
    generate: z
      .object({
        customers: inRange(LIMITS.count),
        products: inRange(LIMITS.count),
        purchases: inRange(LIMITS.count),
        seed: z.number().int().nonnegative().max(MAX_SEED, `expected at most ${MAX_SEED} (Faker seeds have 32 bits)`).nullable(),
        locale: z.string().min(2),
        currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as EUR'),
      })
      .strict(),
    consume: z
      .object({
        maxRetries: z.number().int().nonnegative(),
        retryBackoffMs: z.number().int().positive(),
      })
      .strict(),
    inventory: z
      .object({
        defaultStore: id('store'),
        lowStockThreshold: inRange(LIMITS.level),
        thresholds: z.record(id('id'), inRange(LIMITS.level)),
        initialStock: inRange(LIMITS.stock),
      })
      .strict(),
    availability: z
      .object({
        safetyMargin: margin,
        margins: z.record(id('store'), margin),
        staleAfterSeconds: z.number().positive().max(LIMITS.seconds.max, `expected at most ${LIMITS.seconds.max} seconds`),
        heartbeatSeconds: z.number().min(LIMITS.seconds.min).max(LIMITS.seconds.max),
        reservationTtl: duration,
        sweepSeconds: z.number().min(LIMITS.seconds.min).max(LIMITS.seconds.max),
      })
      .strict(),
    simulate: z
      .object({
        /** How often each kind of event happens in `shopctl simulate`, relative to the others. */
        mix: z
          .object(Object.fromEntries(SIMULATION_KINDS.map((kind) => [kind, z.number().min(0).max(1_000_000)])) as Record<SimulationKind, z.ZodNumber>)
          .strict()
          .superRefine((mix, ctx) => {
            const problem = mixProblem(mix);
            if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
          }),
        /** Percent of purchases and sales meant to be refused. */
        refusals: z.number().min(0).max(100),
      })
      .strict(),
    outbox: z
      .object({
        /** Record the db path's applied events for `shopctl relay`. */
        enabled: z.boolean(),
      })
      .strict(),
    serve: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(0).max(65_535),
        /** Bearer token for the writing endpoints (null: open). A secret: never printed. */
        token: z.string().min(8, 'expected at least 8 characters').regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces').nullable(),
        /** Ask the token of the reading endpoints too. */
        tokenReads: z.boolean(),
        /** Largest request body, in bytes. */
        bodyLimitBytes: z.number().int().min(1024).max(100 * 1024 * 1024),
        /** How long a client may take to send its whole request (then 408): slow senders do not hold the server. */
        requestTimeoutMs: z.number().int().min(100).max(600_000),
      })
      .strict(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export const defaultConfig: Config = {
  namespace: null,
  kafka: {
    brokers: ['127.0.0.1:19092'],
    clientId: 'shopctl',
    groupId: 'shopctl-projector',
    ssl: false,
    sasl: null,
    connectionTimeoutMs: 3000,
    partitions: 3,
    replicationFactor: 1,
    topics: {
      customers: 'shop.customers',
      catalog: 'shop.catalog',
      inventory: 'shop.inventory',
      retry: 'shop.retry',
      dlq: 'shop.dlq',
      importErrors: 'shop.import-errors',
      alerts: 'shop.alerts',
      reservations: 'shop.reservations',
    },
  },
  mongodb: {
    uri: 'mongodb://127.0.0.1:27117',
    db: 'shop',
    serverSelectionTimeoutMs: 3000,
  },
  generate: {
    customers: 100,
    products: 50,
    purchases: 1000,
    seed: null,
    locale: 'en',
    currency: 'EUR',
  },
  consume: {
    maxRetries: 3,
    retryBackoffMs: 1000,
  },
  inventory: {
    defaultStore: 'online',
    lowStockThreshold: 5,
    thresholds: {},
    initialStock: 1000,
  },
  availability: {
    safetyMargin: 0,
    margins: {},
    staleAfterSeconds: 30,
    heartbeatSeconds: 5,
    reservationTtl: '15m',
    sweepSeconds: 5,
  },
  simulate: {
    mix: { ...DEFAULT_MIX },
    refusals: 2,
  },
  outbox: {
    enabled: true,
  },
  serve: {
    host: '127.0.0.1',
    port: 8080,
    token: null,
    tokenReads: false,
    bodyLimitBytes: 1_048_576,
    requestTimeoutMs: 30_000,
  },
};
