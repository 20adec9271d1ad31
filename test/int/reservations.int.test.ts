import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { reservationEventId } from '../../src/domain/availability.js';
import type { ReservationDoc, StockDoc, StoreDoc } from '../../src/domain/documents.js';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { projectionSettings } from '../../src/services/projection-settings.js';
import { dbSink } from '../../src/services/sinks.js';
import { spawnCli, type CliResult } from '../helpers/cli.js';
import { testKafka, waitFor } from '../helpers/env.js';
import { readToEnd } from '../../src/kafka/read-to-end.js';
import { publishAll } from '../helpers/shop.js';
import { worlds, type World } from '../helpers/worlds.js';

// Issue 10, reservations: the store decides a request against available-to-promise (on hand -
// held - margin), holds what it confirms in stock.pending, and releases the hold when the
// reservation is fulfilled (the level goes down once), cancelled or expired (by a sweep, or by
// a running `consume`). Each test has a world of its own and makes the stock it needs.

const SKU = 'SKU-RSV';
const STORE = 'berlin';
let n = 0;
const ctx = () => ({ id: `rsv-test-${Date.now()}-${++n}`, time: new Date().toISOString(), source: 'test' });

const { world, cleanUp } = worlds('rsv');
afterAll(cleanUp);

/** A world whose catalogue has SKU and whose store holds `units` of it (applied in-process on the db path). */
async function shop(units: number): Promise<World> {
  const each = await world();
  const events: ShopEvent[] = [
    createEvent('shop.product.added.v1', { sku: SKU, name: 'Reserved thing', category: 'Tools', price: { amount: 1999, currency: 'EUR' } }, ctx()),
    createEvent('shop.stock.received.v1', { store: STORE, sku: SKU, quantity: units }, ctx()),
  ];
  const sink = dbSink(each.mongo, each.config.mongodb.db, projectionSettings(each.config));
  await sink.write(events);
  expect(sink.totals().written).toBe(2);
  return each;
}

const stockOf = async (each: World): Promise<StockDoc | null> => each.mongo.db.collection<StockDoc>('stock').findOne({ _id: `${STORE}:${SKU}` });
const reservationOf = async (each: World, id: string): Promise<ReservationDoc | null> => each.mongo.db.collection<ReservationDoc>('reservations').findOne({ _id: id });
const reserve = (each: World, id: string, quantity: number, ...more: string[]) =>
  each.cli('reserve', '--customer', `c-${id}`, '--sku', SKU, '--store', STORE, '--quantity', String(quantity), '--id', id, ...more);
const json = <T>(result: CliResult): T => {
  expect(result.stdout, result.stderr).not.toBe('');
  return JSON.parse(result.stdout) as T;
};

function requested(id: string, quantity: number, ttlMs = 15 * 60_000): ShopEvent {
  return createEvent(
    'shop.reservation.requested.v1',
    { reservationId: id, customerId: `c-${id}`, store: STORE, sku: SKU, quantity, expiresAt: new Date(Date.now() + ttlMs).toISOString() },
    { id: reservationEventId('requested', id), time: new Date().toISOString(), source: 'test' },
  );
}

/** Every reservation of the world, counted by status, and what the confirmed ones hold. */
async function tally(each: World): Promise<{ byStatus: Record<string, number>; held: number; reasons: Record<string, number> }> {
  const all = await each.mongo.db.collection<ReservationDoc>('reservations').find({}).toArray();
  const byStatus: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let held = 0;
  for (const r of all) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.reason) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
    if (r.status === 'confirmed') held += r.quantity;
  }
  return { byStatus, held, reasons };
}

describe('reservations', () => {
  it('via kafka: 50 concurrent requests for the last 10 units: 10 confirmed and held, 40 rejected insufficient_stock', async () => {
    const each = await shop(10);
    // 50 producers at once (each its own connection), as 50 shop front-ends would send them.
    const ids = Array.from({ length: 50 }, (_, i) => `k-${String(i).padStart(2, '0')}`);
    await Promise.all(Array.from({ length: 5 }, (_, p) => publishAll(each.config, ids.slice(p * 10, p * 10 + 10).map((id) => requested(id, 1)))));
    const consumed = await each.cli('consume', '--until-idle', '2', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(json<{ applied: number; deadLettered: number }>(consumed)).toMatchObject({ applied: 50, deadLettered: 0 });

    const { byStatus, held, reasons } = await tally(each);
    expect(byStatus).toEqual({ confirmed: 10, rejected: 40 });
    expect(reasons).toEqual({ insufficient_stock: 40 });
    expect(held).toBe(10);
    const stock = await stockOf(each);
    expect(stock).toMatchObject({ level: 10, pending: 10 });
    expect(stock!.pending!).toBeLessThanOrEqual(stock!.level);

    // The store's decisions went back to the reservations topic, one per request, keyed by the store.
    const decisions: Array<{ key: string; status: string }> = [];
    await readToEnd(testKafka(each.config), each.config, [each.config.kafka.topics.reservations], (_topic, _partition, message) => {
      const event = JSON.parse(message.value?.toString() ?? '{}') as { type?: string; data?: { status: string } };
      if (event.type === 'shop.reservation.decided.v1') decisions.push({ key: message.key?.toString() ?? '', status: event.data?.status ?? '' });
    });
    expect(decisions).toHaveLength(50);
    expect(decisions.filter((d) => d.status === 'confirmed')).toHaveLength(10);
    expect(new Set(decisions.map((d) => d.key))).toEqual(new Set([STORE]));

    // What `reservations list` shows scripts: `pending` is the open holds.
    const open = await each.cli('reservations', 'list', '--status', 'pending', '--limit', '100', '--json');
    expect(open.code, open.stderr).toBe(0);
    expect(json<Array<{ status: string }>>(open).map((row) => row.status)).toEqual(Array(10).fill('confirmed'));
  });

  it('via db: 50 concurrent reserve processes for the last 10 units: exactly 10 exit 0 confirmed, 40 exit 3 rejected', async () => {
    const each = await shop(10);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => reserve(each, `d-${i}`, 1, '--json')));
    const statuses = results.map((result) => {
      expect([0, 3], result.stderr).toContain(result.code);
      return json<{ status: string; reason: string | null }>(result);
    });
    expect(statuses.filter((s) => s.status === 'confirmed')).toHaveLength(10);
    expect(statuses.filter((s) => s.status === 'rejected' && s.reason === 'insufficient_stock')).toHaveLength(40);
    expect(results.filter((r) => r.code === 0)).toHaveLength(10);

    const { byStatus, held } = await tally(each);
    expect(byStatus).toEqual({ confirmed: 10, rejected: 40 });
    expect(held).toBe(10);
    expect(await stockOf(each)).toMatchObject({ level: 10, pending: 10 });
  });

  it('the same reservation id sent twice holds once (db: retried command; kafka: a redelivered request)', async () => {
    const each = await shop(10);
    const first = await reserve(each, 'twice', 3);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^reservation twice confirmed: 3 × SKU-RSV at store berlin held until /);
    const again = await reserve(each, 'twice', 3);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('(sent before: nothing changed)');
    expect(await stockOf(each)).toMatchObject({ pending: 3 });

    // The same id for another request is refused, not taken for a repeat.
    const other = await reserve(each, 'twice', 4);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain("reservation id 'twice' is taken by another request");

    const event = requested('k-twice', 2);
    await publishAll(each.config, [event, event]);
    const consumed = await each.cli('consume', '--until-idle', '2', '--json');
    // Applied once; the repeat is a duplicate (and so is the store's decision, when consume reads it back).
    const totals = json<{ applied: number; duplicates: number }>(consumed);
    expect(totals.applied).toBe(1);
    expect(totals.duplicates).toBeGreaterThanOrEqual(1);
    expect(totals.duplicates).toBeLessThanOrEqual(2);
    expect(await stockOf(each)).toMatchObject({ level: 10, pending: 5 });
    expect((await tally(each)).byStatus).toEqual({ confirmed: 2 });
  });

  it('expiry releases the hold: `reservations sweep` (two at once expire it once), and a running `consume` by itself', async () => {
    const each = await shop(10);
    const short = await reserve(each, 'short', 4, '--ttl', '4s');
    expect(short.code, short.stderr).toBe(0);
    expect(await stockOf(each)).toMatchObject({ pending: 4 });
    const early = await each.cli('reservations', 'sweep', '--json');
    expect(json<{ due: number }>(early).due).toBe(0); // not past its expiry yet
    expect(await reservationOf(each, 'short')).toMatchObject({ status: 'confirmed' });
    const expiresAt = Date.parse((await reservationOf(each, 'short'))!.expiresAt);
    await waitFor(() => (Date.now() > expiresAt ? true : undefined), 10_000, 'the expiry');

    const sweeps = await Promise.all([each.cli('reservations', 'sweep', '--json'), each.cli('reservations', 'sweep', '--json')]);
    for (const sweep of sweeps) expect(sweep.code, sweep.stderr).toBe(0);
    expect(sweeps.map((sweep) => json<{ expired: number }>(sweep).expired).reduce((a, b) => a + b, 0)).toBe(1);
    expect(await reservationOf(each, 'short')).toMatchObject({ status: 'expired' });
    expect(await stockOf(each)).toMatchObject({ level: 10, pending: 0 });
    const journaled = await each.mongo.db.collection<{ _id: string }>('events').countDocuments({ _id: reservationEventId('expired', 'short') });
    expect(journaled).toBe(1);

    // consume sweeps on its own timer (every second here), with no sweep command run.
    await writeFile(each.file, stringify({ ...each.config, availability: { ...each.config.availability, sweepSeconds: 1 } }));
    const consume = spawnCli(['--config', each.file, 'consume']);
    let output = '';
    consume.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    consume.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => consume.on('close', (code) => resolve(code)));
    try {
      const kafka = await each.cli('reserve', '--customer', 'c-9', '--sku', SKU, '--store', STORE, '--quantity', '2', '--id', 'by-itself', '--ttl', '2s', '--via', 'kafka');
      expect(kafka.code, kafka.stderr).toBe(0);
      // Expired is reached from confirmed only (the hold was taken, then released).
      await waitFor(async () => ((await reservationOf(each, 'by-itself'))?.status === 'expired' ? true : undefined), 30_000, 'the hold expired by consume');
      expect(await stockOf(each)).toMatchObject({ level: 10, pending: 0 });
    } finally {
      consume.kill('SIGINT');
    }
    expect(await exited, output).toBe(0);
    // The request, then the expiry it published itself (in the store's order, on the topic).
    expect(output).toMatch(/stopped: applied 2, duplicates skipped [01], retried later 0, dead-lettered 0 in [\d.]+s/);
    expect(output).toMatch(/^ {2}overdue reservations: 1 expiry published to the reservations topic/m);
  });

  it('fulfil twice decreases the stock once; via kafka twice too', async () => {
    const each = await shop(10);
    expect((await reserve(each, 'f-1', 3)).code).toBe(0);
    const fulfilled = await each.cli('reservations', 'fulfil', 'f-1');
    expect(fulfilled.code, fulfilled.stderr).toBe(0);
    expect(fulfilled.stdout).toContain('reservation f-1 fulfilled: 3 × SKU-RSV at store berlin left the store');
    const again = await each.cli('reservations', 'fulfil', 'f-1');
    expect(again.code).toBe(3);
    expect(again.stderr).toContain("reservation 'f-1' is fulfilled already");
    expect(await stockOf(each)).toMatchObject({ level: 7, pending: 0 });

    // Two fulfilments published before `consume` ran: one event id, applied once.
    expect((await reserve(each, 'f-2', 2)).code).toBe(0);
    const sent = await Promise.all([each.cli('reservations', 'fulfil', 'f-2', '--via', 'kafka'), each.cli('reservations', 'fulfil', 'f-2', '--via', 'kafka')]);
    for (const one of sent) expect(one.code, one.stderr).toBe(0);
    const consumed = await each.cli('consume', '--until-idle', '2', '--json');
    expect(json<{ applied: number; duplicates: number }>(consumed)).toMatchObject({ applied: 1, duplicates: 1 });
    expect(await stockOf(each)).toMatchObject({ level: 5, pending: 0 });
    expect(await reservationOf(each, 'f-2')).toMatchObject({ status: 'fulfilled' });
  });

  it('a fulfilment sent through Kafka before the hold expired is applied, even when consume only runs after the expiry (its sweep does not overtake it)', async () => {
    const each = await shop(10);
    expect((await reserve(each, 'in-time', 4, '--ttl', '2s')).code).toBe(0);
    const sent = await each.cli('reservations', 'fulfil', 'in-time', '--via', 'kafka');
    expect(sent.code, sent.stderr).toBe(0);
    const expiresAt = Date.parse((await reservationOf(each, 'in-time'))!.expiresAt);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 500));
    // consume starts past the expiry: its first sweep finds the hold overdue (the fulfilment is
    // not applied yet) and publishes an expiry, which comes after the fulfilment in the store's order.
    const consumed = await each.cli('consume', '--until-idle', '3', '--json');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(await reservationOf(each, 'in-time')).toMatchObject({ status: 'fulfilled' });
    expect(await stockOf(each)).toMatchObject({ level: 6, pending: 0 });
    // The history of the level explains it, with or without --store.
    for (const where of [[], ['--store', STORE]]) {
      const history = await each.cli('history', '--sku', SKU, ...where, '--json');
      expect(history.code, history.stderr).toBe(0);
      expect(JSON.stringify(JSON.parse(history.stdout))).toMatch(/"type":"fulfilment"[^}]*"change":-4[^}]*"level":6/);
    }
  });

  it('fulfil after the shop floor sold the units: failed insufficient_stock, stock not negative, hold released', async () => {
    const each = await shop(2);
    expect((await reserve(each, 'late', 2)).code).toBe(0);
    const sold = await each.cli('stock', 'sell', '--store', STORE, '--sku', SKU, '--quantity', '2');
    expect(sold.code, sold.stderr).toBe(0);
    const fulfil = await each.cli('reservations', 'fulfil', 'late', '--json');
    expect(fulfil.code).toBe(3);
    expect(json(fulfil)).toMatchObject({ id: 'late', status: 'failed', reason: 'insufficient_stock', message: expect.stringContaining('2 reserved, 0 on hand') as unknown });
    expect(await stockOf(each)).toMatchObject({ level: 0, pending: 0 });
    expect(await reservationOf(each, 'late')).toMatchObject({ status: 'failed', reason: 'insufficient_stock' });
  });

  it('cancel releases the hold (the units can be promised again); a stale store is refused unless --allow-stale', async () => {
    const each = await shop(5);
    expect((await reserve(each, 'c-1', 5)).code).toBe(0);
    expect((await reserve(each, 'c-2', 1)).code).toBe(3);
    const cancelled = await each.cli('reservations', 'cancel', 'c-1');
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain('reservation c-1 cancelled: the hold of 5 × SKU-RSV at store berlin is released');
    expect(await stockOf(each)).toMatchObject({ level: 5, pending: 0 });
    expect((await reserve(each, 'c-3', 5)).code).toBe(0);
    const missing = await each.cli('reservations', 'cancel', 'no-such');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no reservation 'no-such'");

    // A store last heard from an hour ago (the stores collection, as heartbeats leave it).
    await each.mongo.db.collection<StoreDoc>('stores').insertOne({ _id: 'stale-store', _rev: 1, lastHeartbeat: new Date(Date.now() - 3_600_000).toISOString() });
    const refused = await each.cli('reserve', '--customer', 'c-1', '--sku', SKU, '--store', 'stale-store', '--quantity', '1');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("store 'stale-store' is stale");
    expect(await each.mongo.db.collection('reservations').countDocuments({ store: 'stale-store' })).toBe(0);
    const allowed = await each.cli('reserve', '--customer', 'c-1', '--sku', SKU, '--store', 'stale-store', '--quantity', '1', '--allow-stale', '--json');
    // Allowed through; the store holds none of the SKU, so it decides insufficient_stock (not store_stale).
    expect(json(allowed)).toMatchObject({ status: 'rejected', reason: 'insufficient_stock' });
  });
});
