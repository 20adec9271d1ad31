import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { findReservation, findReservations, lastHeartbeatOf, openHolds, type ReservationFilter, type ReservationRow } from '../db/reservation-store.js';
import { formatDuration, freshnessOf, reservationEventId } from '../domain/availability.js';
import type { ReservationReason, ReservationStatus } from '../domain/documents.js';
import { createEvent, type ReservationEvent, type ReservationStep } from '../domain/events.js';
import type { ReservationEffect } from '../domain/projector.js';
import { ExitCode, ShopctlError } from '../errors.js';
import type { Context } from './context.js';
import { projectionOn, type Projection } from './projection.js';
import { projectionSettings } from './projection-settings.js';
import type { WriteOutcome } from './writer.js';

// Reservations as use cases: request one (`reserve`), read them, fulfil or cancel one, expire the
// overdue ones (the sweep, also run by `consume`). Every step is an event with an id derived from
// the reservation id (domain/availability reservationEventId): sent twice, applied once. On the
// db path the events go through the projection (with the outbox, for `shopctl relay`) and the
// store's decision comes back at once; on the kafka path they are published to the reservations
// topic and decided when `shopctl consume` applies them.

export type ReservationVia = 'db' | 'kafka';
export type { ReservationRow };

const SOURCE = 'shopctl';

/** What a command asked of a reservation, and what became of it. */
export interface ReservationAnswer {
  id: string;
  via: ReservationVia;
  /** `requested`: published to Kafka, decided when `consume` applies it. */
  status: ReservationStatus | 'requested';
  /** False when this call changed nothing (the same request or step was applied before). */
  changed: boolean;
  reason?: ReservationReason | undefined;
  message?: string | undefined;
  customerId: string;
  store: string;
  sku: string;
  quantity: number;
  expiresAt: string;
  /** The id of the event sent. */
  eventId: string;
}

export interface ReserveInput {
  customer: string;
  sku: string;
  store: string;
  quantity: number;
  ttlMs: number;
  /** The reservation id (an idempotency key); random when absent. */
  id?: string | undefined;
  allowStale: boolean;
  via: ReservationVia;
}

export class ReservationError extends ShopctlError {
  constructor(message: string, code: string, exitCode: ExitCode, suggestion?: string) {
    super(message, { code, exitCode, ...(suggestion ? { suggestion } : {}) });
    this.name = 'ReservationError';
  }
}

const notFound = (id: string): ReservationError =>
  new ReservationError(`no reservation '${id}'`, 'RESERVATION_NOT_FOUND', ExitCode.failure, 'List them with `shopctl reservations list`.');

/** `reserve`: refuses a request to a stale store (unless allowed), then sends it one way or the other. */
export async function requestReservation(context: Context, input: ReserveInput, now: Date = new Date()): Promise<ReservationAnswer> {
  const database = await context.database();
  const id = input.id ?? randomUUID();
  if (input.id !== undefined) {
    // A repeat of a request (a retried command) is answered from what the store decided then:
    // its expiry, computed from a later clock, would make it another event with the same id.
    const known = await findReservation(database.db, id);
    if (known) return repeated(known, input, input.via);
  }
  await refuseStale(context, database.db, input, now);
  const event = createEvent(
    'shop.reservation.requested.v1',
    {
      reservationId: id,
      customerId: input.customer,
      store: input.store,
      sku: input.sku,
      quantity: input.quantity,
      expiresAt: new Date(now.getTime() + input.ttlMs).toISOString(),
      ...(input.allowStale ? { allowStale: true } : {}),
    },
    { id: reservationEventId('requested', id), time: now.toISOString(), source: SOURCE },
  );
  const base = { id, via: input.via, customerId: input.customer, store: input.store, sku: input.sku, quantity: input.quantity, expiresAt: event.data.expiresAt, eventId: event.id };
  if (input.via === 'kafka') {
    await publish(context, [event]);
    return { ...base, status: 'requested', changed: true };
  }
  const [outcome] = await applyOnDb(context, [event]);
  const effect = effectOrNull(outcome);
  if (effect) return { ...base, status: effect.status, changed: effect.changed, reason: effect.reason, message: effect.message };
  // Applied before (a duplicate), or sent at the same moment by another process (an id conflict
  // over the expiry): the reservation says what was decided.
  const known = await findReservation(database.db, id);
  if (known) return repeated(known, input, 'db');
  throw unexpected(outcome, id);
}

function repeated(known: ReservationRow, input: ReserveInput, via: ReservationVia): ReservationAnswer {
  const same = known.customerId === input.customer && known.store === input.store && known.sku === input.sku && known.quantity === input.quantity;
  if (!same) {
    throw new ReservationError(
      `reservation id '${known._id}' is taken by another request (customer '${known.customerId}', ${known.quantity} × ${known.sku} at store '${known.store}')`,
      'ID_CONFLICT',
      ExitCode.partial,
      'Choose another --id, or leave it out for a random one.',
    );
  }
  return { ...answerOf(known, via, reservationEventId('requested', known._id)), changed: false };
}

async function refuseStale(context: Context, db: Db, input: ReserveInput, now: Date): Promise<void> {
  if (input.allowStale) return;
  const staleAfterMs = context.config.availability.staleAfterSeconds * 1000;
  const heard = freshnessOf(await lastHeartbeatOf(db, input.store), now, staleAfterMs);
  if (heard.state !== 'stale') return;
  throw new ReservationError(
    `store '${input.store}' is stale: last heard from ${formatDuration(heard.ageMs ?? 0)} ago (stale after ${formatDuration(staleAfterMs)}); its stock may be wrong`,
    'STORE_STALE',
    ExitCode.partial,
    'Wait for the store to send a heartbeat (`shopctl stores`), or reserve all the same with --allow-stale.',
  );
}

/** `reservations list`: the latest requested first. */
export async function listReservations(context: Context, filter: ReservationFilter, limit: number): Promise<{ rows: ReservationRow[]; total: number }> {
  return findReservations((await context.database()).db, filter, limit);
}

/** `reservations show`. */
export async function showReservation(context: Context, id: string): Promise<ReservationRow> {
  const found = await findReservation((await context.database()).db, id);
  if (!found) throw notFound(id);
  return found;
}

export type StepKind = 'fulfilled' | 'cancelled';

/**
 * `reservations fulfil|cancel`: the reservation is read first (its store and SKU go into the
 * event; one that does not exist or is closed is refused here, clearly), then the step is sent.
 */
export async function closeReservation(
  context: Context,
  kind: StepKind,
  id: string,
  via: ReservationVia,
  now: Date = new Date(),
  /**
   * Kafka path: a request this process published that may not be applied yet. Its step is
   * published all the same: keyed by the store, it is applied after the request.
   */
  requested?: ReservationAnswer,
): Promise<ReservationAnswer> {
  const db = (await context.database()).db;
  const known = await findReservation(db, id);
  if (!known && via === 'kafka' && requested?.id === id) {
    const type = kind === 'fulfilled' ? 'shop.reservation.fulfilled.v1' : 'shop.reservation.cancelled.v1';
    const event: ReservationStep = createEvent(type, { reservationId: id, store: requested.store, sku: requested.sku }, { id: reservationEventId(kind, id), time: now.toISOString(), source: SOURCE });
    await publish(context, [event]);
    return { ...requested, status: 'requested', changed: true, eventId: event.id };
  }
  if (!known) throw notFound(id);
  if (known.status !== 'confirmed') throw closedAlready(known);
  const type = kind === 'fulfilled' ? 'shop.reservation.fulfilled.v1' : 'shop.reservation.cancelled.v1';
  const event: ReservationStep = createEvent(type, { reservationId: id, store: known.store, sku: known.sku }, { id: reservationEventId(kind, id), time: now.toISOString(), source: SOURCE });
  if (via === 'kafka') {
    await publish(context, [event]);
    return { ...answerOf(known, via, event.id), status: 'requested', changed: true };
  }
  const [outcome] = await applyOnDb(context, [event]);
  const effect = effectOrNull(outcome);
  if (effect) return { ...answerOf(known, via, event.id), status: effect.status, changed: effect.changed, reason: effect.reason, message: effect.message };
  const after = await findReservation(db, id);
  if (after) return { ...answerOf(after, via, event.id), changed: false };
  throw unexpected(outcome, id);
}

function closedAlready(known: ReservationRow): ReservationError {
  const said: Record<Exclude<ReservationStatus, 'confirmed'>, string> = {
    fulfilled: 'is fulfilled already',
    cancelled: 'is cancelled already',
    expired: 'has expired',
    rejected: `was rejected (${known.reason ?? 'no reason'}): it never held stock`,
    failed: `failed (${known.reason ?? 'no reason'}): its hold was released`,
  };
  return new ReservationError(
    `reservation '${known._id}' ${said[known.status as Exclude<ReservationStatus, 'confirmed'>]}`,
    'RESERVATION_CLOSED',
    ExitCode.partial,
    `Only an open (confirmed) reservation can be fulfilled or cancelled: see \`shopctl reservations show ${known._id}\`.`,
  );
}

export interface SweepResult {
  via: ReservationVia;
  /** Open holds past their expiry when the sweep looked. */
  due: number;
  /** Expired by this sweep (db), or expiry events published (kafka). */
  expired: number;
  /** Due, but closed or expired by someone else meanwhile (another sweeper, a fulfilment). */
  unchanged: number;
  ids: string[];
}

/** `reservations sweep`: one expiry event per overdue hold, with an id of its own (two sweepers apply it once). */
export async function sweepReservations(
  context: Context,
  via: ReservationVia,
  now: Date = new Date(),
  /** Kafka path: holds whose expiry this process published lately (not applied yet): not again. */
  skip: (reservationId: string) => boolean = () => false,
): Promise<SweepResult> {
  const database = await context.database();
  if (via === 'db') {
    const settings = projectionSettings(context.config);
    return sweepExpired({ db: database.db, projection: projectionOn(database, { rules: settings.rules }), outbox: settings.outbox }, now);
  }
  const events = (await dueEvents(database.db, now)).filter((event) => !skip(event.data.reservationId));
  if (events.length > 0) await publish(context, events);
  return { via, due: events.length, expired: events.length, unchanged: 0, ids: events.map((event) => event.data.reservationId) };
}

export interface SweepDeps {
  db: Db;
  projection: Projection;
  outbox: boolean;
}

/** Events per projection call: a sweep of many holds is applied in bounded batches. */
const SWEEP_CHUNK = 50;

/** The db path's sweep, also run by `consume` on its own timer with its projection. */
export async function sweepExpired(deps: SweepDeps, now: Date = new Date()): Promise<SweepResult> {
  const events = await dueEvents(deps.db, now);
  const result: SweepResult = { via: 'db', due: events.length, expired: 0, unchanged: 0, ids: [] };
  for (let start = 0; start < events.length; start += SWEEP_CHUNK) {
    const chunk = events.slice(start, start + SWEEP_CHUNK);
    const applied = await deps.projection.apply(
      chunk.map((event) => ({ event })),
      { outbox: deps.outbox },
    );
    for (const outcome of applied.outcomes) {
      const effect = effectOrNull(outcome);
      if (effect?.changed && effect.status === 'expired') {
        result.expired += 1;
        result.ids.push(effect.id);
      } else {
        result.unchanged += 1;
      }
    }
  }
  return result;
}

// An expiry's event time is the sweeper's clock; the projector expires a hold only when that
// instant is not before its `expiresAt` (and an early one changes nothing and leaves no trace).
async function dueEvents(db: Db, now: Date): Promise<ReservationEvent[]> {
  const at = now.toISOString();
  const holds = await openHolds(db);
  return holds
    .filter((hold) => Date.parse(hold.expiresAt) <= now.getTime())
    .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))
    .map((hold) =>
      createEvent('shop.reservation.expired.v1', { reservationId: hold._id, store: hold.store, sku: hold.sku }, { id: reservationEventId('expired', hold._id), time: at, source: SOURCE }),
    );
}

async function applyOnDb(context: Context, events: readonly ReservationEvent[]): Promise<WriteOutcome[]> {
  return (await context.writer('db')).write(events);
}

async function publish(context: Context, events: readonly ReservationEvent[]): Promise<void> {
  await (await context.writer('kafka')).write(events);
}

const effectOrNull = (outcome: WriteOutcome | undefined): ReservationEffect | null => (outcome?.status === 'applied' ? (outcome.reservation ?? null) : null);

function unexpected(outcome: WriteOutcome | undefined, id: string): ShopctlError {
  const said = outcome?.status === 'rejected' ? `${outcome.reason}: ${outcome.message}` : (outcome?.status ?? 'no outcome');
  return new ShopctlError(`reservation '${id}': the projection did not apply the event (${said})`, { code: 'NOT_APPLIED', exitCode: ExitCode.partial });
}

function answerOf(row: ReservationRow, via: ReservationVia, eventId: string): ReservationAnswer {
  return {
    id: row._id,
    via,
    status: row.status,
    changed: true,
    reason: row.reason,
    message: row.message,
    customerId: row.customerId,
    store: row.store,
    sku: row.sku,
    quantity: row.quantity,
    expiresAt: row.expiresAt,
    eventId,
  };
}
