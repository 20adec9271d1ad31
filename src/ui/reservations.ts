import { formatDuration } from '../domain/availability.js';
import type { ReservationDoc } from '../domain/documents.js';
import type { Output } from './output.js';
import { renderPairs, renderTable, shortTime, type Column } from './table.js';

// How reservations look: tables and sentences for people, plain objects for --json.

type Row = Omit<ReservationDoc, '_rev' | '_intent'>;

/** What a command did to one reservation (services/reservations ReservationAnswer). */
export interface AnswerView {
  id: string;
  via: 'db' | 'kafka';
  status: string;
  changed: boolean;
  reason?: string | undefined;
  message?: string | undefined;
  customerId: string;
  store: string;
  sku: string;
  quantity: number;
  expiresAt: string;
  eventId: string;
}

/** --json of one reservation: the table's columns and the rest. */
export const reservationJson = (r: Row) => ({
  id: r._id,
  customer: r.customerId,
  store: r.store,
  sku: r.sku,
  quantity: r.quantity,
  status: r.status,
  reason: r.reason ?? null,
  message: r.message ?? null,
  requestedAt: r.requestedAt,
  expiresAt: r.expiresAt,
  updatedAt: r.updatedAt,
});

export const answerJson = (a: AnswerView) => ({
  id: a.id,
  status: a.status,
  changed: a.changed,
  reason: a.reason ?? null,
  message: a.message ?? null,
  customer: a.customerId,
  store: a.store,
  sku: a.sku,
  quantity: a.quantity,
  expiresAt: a.expiresAt,
  via: a.via,
  eventId: a.eventId,
});

const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r._id, ids: true, keep: true },
  { header: 'customer', value: (r) => r.customerId, ids: true },
  { header: 'store', value: (r) => r.store },
  { header: 'sku', value: (r) => r.sku, keep: true },
  { header: 'qty', value: (r) => r.quantity, align: 'right' },
  { header: 'status', value: (r) => r.status, keep: true },
  { header: 'requested', value: (r) => r.requestedAt, fitted: (r) => shortTime(r.requestedAt), keep: true },
  { header: 'expires', value: (r) => r.expiresAt, fitted: (r) => shortTime(r.expiresAt), keep: true },
  { header: 'reason', value: (r) => r.reason ?? '' },
];

export function printReservations(output: Output, rows: readonly Row[], total: number, empty: string): void {
  if (rows.length === 0) {
    output.data(empty);
    return;
  }
  output.data(renderTable(rows, columns, output));
  output.data(`${rows.length} of ${total} reservations`);
}

export function printReservation(output: Output, r: Row, now: Date): void {
  const pairs: Array<[string, string | number]> = [
    ['id', r._id],
    ['status', r.status],
    ['customer', r.customerId],
    ['store', r.store],
    ['sku', r.sku],
    ['quantity', r.quantity],
    ['requested', r.requestedAt],
    // How long is left matters while the units are held; afterwards it is only a time.
    ['expires', r.status === 'confirmed' ? `${r.expiresAt} (${untilOrAgo(r.expiresAt, now)})` : r.expiresAt],
    ['updated', r.updatedAt],
  ];
  if (r.reason) pairs.push(['reason', r.reason]);
  if (r.message) pairs.push(['message', r.message]);
  output.data(renderPairs(pairs, output));
}

function untilOrAgo(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  return ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
}

/** One sentence on what `reserve`, `fulfil` or `cancel` did. */
export function describeAnswer(a: AnswerView, step: 'requested' | 'fulfilled' | 'cancelled', now: Date): string {
  const what = `${a.quantity} × ${a.sku} at store ${a.store}`;
  const before = a.changed ? '' : ' (sent before: nothing changed)';
  if (a.status === 'requested') {
    if (step === 'requested') return `reservation ${a.id} requested: ${what} (the store decides when \`shopctl consume\` applies it)`;
    return `${step === 'fulfilled' ? 'fulfilment' : 'cancellation'} of reservation ${a.id} requested: ${what} (applied when \`shopctl consume\` runs)`;
  }
  switch (a.status) {
    case 'confirmed':
      return `reservation ${a.id} confirmed: ${what} held until ${a.expiresAt} (${untilOrAgo(a.expiresAt, now)})${before}`;
    case 'rejected':
      return `reservation ${a.id} rejected (${a.reason ?? 'no reason'}): ${a.message ?? what}${before}`;
    case 'fulfilled':
      return `reservation ${a.id} fulfilled: ${what} left the store${before}`;
    case 'failed':
      return `reservation ${a.id} failed (${a.reason ?? 'no reason'}): ${a.message ?? what}; its hold is released${before}`;
    case 'cancelled':
      return `reservation ${a.id} cancelled: the hold of ${what} is released${before}`;
    case 'expired':
      return `reservation ${a.id} expired: the hold of ${what} is released${before}`;
    default:
      return `reservation ${a.id} ${a.status}${before}`;
  }
}

export interface SweepView {
  via: 'db' | 'kafka';
  due: number;
  expired: number;
  unchanged: number;
  ids: string[];
}

export function describeSweep(s: SweepView): string {
  if (s.due === 0) return 'no open reservation is past its expiry';
  if (s.via === 'kafka') return `${s.expired} expiry events published (one per overdue reservation; applied when \`shopctl consume\` runs)`;
  return `expired ${s.expired} of ${s.due} overdue reservations${s.unchanged > 0 ? ` (${s.unchanged} closed meanwhile by another sweep or step)` : ''}: their holds are released`;
}
