import { createEvent, ID_RULE, idProblem as idRuleProblem, STORE_ID_RULE, type StockReceived, type StockSold } from './events.js';
import { MAX_STOCK_UNITS } from './limits.js';
import type { CsvRecord } from './csv-reader.js';
import { parseImportDate } from './import-date.js';
import type { RowReason } from './import-reasons.js';
import { TransactionIds } from './transaction-ids.js';

// The row rules of the stock manager's CSV format: the header, and what turns a record into a
// stock event or into every reason it is not one. Pure: no I/O, no clock.

export const IMPORT_HEADER = ['transaction_id', 'event_type', 'date', 'store_number', 'item_number', 'value'] as const;

// ---------------------------------------------------------------------------------------------
// The header

/** What is wrong with a header record; empty when it is exactly the expected one. */
export function headerProblems(fields: readonly string[]): string[] {
  const names = fields.map((name) => name.trim());
  if (names.length === IMPORT_HEADER.length && names.every((name, index) => name === IMPORT_HEADER[index])) return [];
  const expected = new Set<string>(IMPORT_HEADER);
  const missing = IMPORT_HEADER.filter((name) => !names.includes(name));
  const unexpected = names.filter((name) => !expected.has(name));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing: ${missing.join(', ')}`);
  if (unexpected.length > 0) problems.push(`unexpected: ${unexpected.map((name) => (name === '' ? '(empty)' : name)).join(', ')}`);
  const repeated = names.filter((name, index) => expected.has(name) && names.indexOf(name) !== index);
  if (repeated.length > 0) problems.push(`repeated: ${[...new Set(repeated)].join(', ')}`);
  if (problems.length === 0) problems.push(`wrong order: found ${names.join(',')}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Rows

/** One valid CSV row: a stock movement (goods received or a sale) that becomes one event. */
export interface MovementRow {
  transactionId: string;
  type: 'shop.stock.received.v1' | 'shop.stock.sold.v1';
  /** ISO 8601 in UTC (toISOString). */
  time: string;
  store: string;
  sku: string;
  quantity: number;
}

export type RowResult = { ok: true; row: MovementRow } | { ok: false; reasons: RowReason[] };

const eventTypes: Readonly<Record<string, MovementRow['type']>> = {
  incoming: 'shop.stock.received.v1',
  sale: 'shop.stock.sold.v1',
};
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_QUANTITY = MAX_STOCK_UNITS;

const trim = (value: string): string => value.replace(/^[ \t]+|[ \t]+$/g, '');

/**
 * Checks the six fields of one row (surrounding spaces and tabs are ignored) and returns the
 * row, or every reason it fails. Values are data only: identifiers follow the id rule of
 * domain/events.ts (any text without control characters or '$'), so nothing like `$where` or
 * `{"$gt":""}` can reach MongoDB.
 */
export function validateFields(fields: readonly string[]): RowResult {
  if (fields.length !== IMPORT_HEADER.length) {
    return { ok: false, reasons: [{ code: 'wrong_column_count', message: `expected ${IMPORT_HEADER.length} columns, found ${fields.length}` }] };
  }
  const [id = '', typeName = '', date = '', store = '', item = '', value = ''] = fields.map(trim);
  const reasons: RowReason[] = [];
  if (!uuidPattern.test(id)) {
    reasons.push({ code: 'bad_transaction_id', message: id === '' ? 'transaction_id: empty' : 'transaction_id: not a UUID' });
  }
  const type = Object.hasOwn(eventTypes, typeName) ? eventTypes[typeName] : undefined;
  if (type === undefined) {
    reasons.push({ code: 'bad_event_type', message: typeName === '' ? 'event_type: empty' : `event_type: expected incoming or sale, got '${excerpt(typeName)}'` });
  }
  const time = parseImportDate(date);
  if (time === null) {
    reasons.push({ code: 'bad_date', message: date === '' ? 'date: empty' : 'date: not a date (YYYY-MM-DD) or ISO 8601 date-time' });
  }
  const storeProblem = idProblem('store_number', store, 'store');
  if (storeProblem) reasons.push({ code: 'bad_store', message: storeProblem });
  const itemProblem = idProblem('item_number', item, 'id');
  if (itemProblem) reasons.push({ code: 'bad_item', message: itemProblem });
  const quantity = parseQuantity(value);
  if (typeof quantity === 'string') reasons.push({ code: 'bad_value', message: quantity });
  if (reasons.length > 0 || type === undefined || time === null || typeof quantity === 'string') return { ok: false, reasons };
  return { ok: true, row: { transactionId: id.toLowerCase(), type, time, store, sku: item, quantity } };
}

const excerpt = (value: string): string => (value.length > 20 ? `${value.slice(0, 20)}…` : value);

function idProblem(column: string, value: string, kind: 'id' | 'store'): string | null {
  const problem = idRuleProblem(value, kind);
  if (problem === null) return null;
  if (problem === 'empty') return `${column}: empty`;
  return `${column}: not a valid id, ${problem} (${kind === 'store' ? STORE_ID_RULE : ID_RULE})`;
}

function parseQuantity(value: string): number | string {
  if (value === '') return 'value: empty';
  if (!/^\d+$/.test(value) || /^0+$/.test(value)) return 'value: not a positive integer';
  const quantity = Number(value);
  return quantity > MAX_QUANTITY ? `value: more than ${MAX_QUANTITY}` : quantity;
}

/** The event a valid row stands for: the transaction id is the event id (the idempotency key). */
export function rowEvent(row: MovementRow, source: string): StockReceived | StockSold {
  const data = { store: row.store, sku: row.sku, quantity: row.quantity };
  const context = { id: row.transactionId, time: row.time, source };
  return row.type === 'shop.stock.received.v1'
    ? createEvent('shop.stock.received.v1', data, context)
    : createEvent('shop.stock.sold.v1', data, context);
}

// ---------------------------------------------------------------------------------------------
// One file's rows, in order

/**
 * Validates the records of one file in order: a record that could not be read, then the
 * fields, then whether an earlier accepted row of the file had the same transaction id.
 */
export class RowValidator {
  private readonly seen = new TransactionIds();

  validate(record: CsvRecord): RowResult {
    if (record.problem) return { ok: false, reasons: [record.problem] };
    const result = validateFields(record.fields);
    if (!result.ok) return result;
    const earlier = this.seen.remember(result.row.transactionId, record.line);
    if (earlier !== null) {
      return {
        ok: false,
        reasons: [{ code: 'duplicate_transaction_id_in_file', message: `transaction_id: already used on line ${earlier}` }],
      };
    }
    return result;
  }
}
