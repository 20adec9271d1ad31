import { createEvent, idSchema, type StockReceived, type StockSold } from './events.js';

// The stock manager's CSV format, read a chunk at a time: a small RFC 4180 reader that keeps
// each record's raw text and line number (for the errors topic), and the row rules that turn a
// record into a stock event or into every reason it is not one. Pure: no I/O, no clock.

export const IMPORT_HEADER = ['transaction_id', 'event_type', 'date', 'store_number', 'item_number', 'value'] as const;

/** Longest record (characters) the reader buffers; a valid row is well under 300. */
export const MAX_RECORD_CHARS = 65_536;

export const reasonCodes = [
  'wrong_column_count',
  'bad_quotes',
  'line_too_long',
  'bad_transaction_id',
  'bad_event_type',
  'bad_date',
  'bad_store',
  'bad_item',
  'bad_value',
  'duplicate_transaction_id_in_file',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

export interface RowReason {
  code: ReasonCode;
  message: string;
}

export interface CsvRecord {
  /** Physical line (1-based) the record starts on; the header is line 1. */
  line: number;
  fields: string[];
  /** The record as written, without its line terminator (may span lines inside quotes). */
  raw: string;
  /** Set when the record could not be read cleanly; its fields are then not trusted. */
  problem?: RowReason;
}

// ---------------------------------------------------------------------------------------------
// Reading records

/**
 * Splits text into CSV records as it arrives: `push` each decoded chunk, then `end`. Handles a
 * BOM, CRLF or LF, quoted fields (commas, doubled quotes and line breaks inside), blank lines
 * (skipped) and a missing final newline. A malformed record spoils only itself: an unterminated
 * quote is reported on its first line and reading resumes on the next one.
 */
export class CsvReader {
  private buf = '';
  private pos = 0;
  private line = 1;
  private skipping = false;
  private started = false;

  constructor(private readonly maxRecordChars = MAX_RECORD_CHARS) {}

  push(chunk: string): CsvRecord[] {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buf = this.buf.slice(this.pos) + text;
    this.pos = 0;
    return this.drain(false);
  }

  end(): CsvRecord[] {
    return this.drain(true);
  }

  private drain(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    const max = this.maxRecordChars;
    for (;;) {
      if (this.skipping) {
        const nl = this.buf.indexOf('\n', this.pos);
        if (nl < 0) {
          this.pos = this.buf.length;
          break;
        }
        this.advanceLine(nl);
        this.skipping = false;
      }
      if (this.pos >= this.buf.length) break;
      const nl = this.buf.indexOf('\n', this.pos);
      const lineEnd = nl >= 0 ? nl : final ? this.buf.length : -1;
      if (lineEnd < 0) {
        // No full line yet: wait for more, unless this one is already hopelessly long.
        if (this.buf.length - this.pos <= max) break;
        out.push(tooLong(this.buf.slice(this.pos, this.pos + 200), this.line));
        this.skipping = true;
        continue;
      }
      const text = stripCr(this.buf.slice(this.pos, lineEnd));
      if (text.length > max) {
        out.push(tooLong(text.slice(0, 200), this.line));
        this.advanceLine(lineEnd);
        continue;
      }
      if (!text.includes('"')) {
        if (text.trim() !== '') out.push({ line: this.line, fields: text.split(','), raw: text });
        this.advanceLine(lineEnd);
        continue;
      }
      const scanned = scanQuoted(this.buf, this.pos, final);
      if (scanned !== null && scanned.rawEnd - this.pos <= max) {
        const raw = this.buf.slice(this.pos, scanned.rawEnd);
        const record: CsvRecord = { line: this.line, fields: scanned.fields, raw };
        if (scanned.problem) record.problem = scanned.problem;
        out.push(record);
        this.line += 1 + countNewlines(raw);
        this.pos = scanned.next;
        continue;
      }
      // The quote runs on past the end of the input, or past any sane record length.
      if (!final && this.buf.length - this.pos <= max) break;
      out.push({
        line: this.line,
        fields: [],
        raw: text,
        problem: { code: 'bad_quotes', message: 'a quoted field is never closed' },
      });
      this.advanceLine(lineEnd);
    }
    return out;
  }

  private advanceLine(lineEnd: number): void {
    this.pos = lineEnd + 1;
    this.line += 1;
  }
}

const stripCr = (text: string): string => (text.endsWith('\r') ? text.slice(0, -1) : text);

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count += 1;
  return count;
}

function tooLong(start: string, line: number): CsvRecord {
  return {
    line,
    fields: [],
    raw: `${start}…`,
    problem: { code: 'line_too_long', message: `line is longer than ${MAX_RECORD_CHARS} characters` },
  };
}

interface Scanned {
  fields: string[];
  /** End of the record's text (before its line terminator). */
  rawEnd: number;
  /** Where the next record starts. */
  next: number;
  problem?: RowReason;
}

// Reads one record that contains a quote, from `start`. Null when the input ends inside it
// (more data may complete it). A quote opens a quoted field only at the start of a field; one
// elsewhere is an ordinary character; text after a closing quote is kept but reported.
function scanQuoted(buf: string, start: number, final: boolean): Scanned | null {
  const fields: string[] = [];
  let field = '';
  let problem: RowReason | undefined;
  let i = start;
  let afterQuote = false;
  let inQuotes = buf[i] === '"';
  if (inQuotes) i += 1;
  for (;;) {
    if (inQuotes) {
      const quote = buf.indexOf('"', i);
      if (quote < 0) return null;
      field += buf.slice(i, quote);
      if (quote + 1 >= buf.length && !final) return null; // a doubled quote may follow
      if (buf[quote + 1] === '"') {
        field += '"';
        i = quote + 2;
        continue;
      }
      inQuotes = false;
      afterQuote = true;
      i = quote + 1;
      continue;
    }
    if (i >= buf.length) {
      if (!final) return null;
      fields.push(field);
      return withProblem({ fields, rawEnd: i, next: i }, problem);
    }
    const c = buf[i];
    if (c === ',') {
      fields.push(field);
      field = '';
      afterQuote = false;
      i += 1;
      if (buf[i] === '"') {
        inQuotes = true;
        i += 1;
      }
      continue;
    }
    if (c === '\n' || (c === '\r' && buf[i + 1] === '\n')) {
      fields.push(field);
      return withProblem({ fields, rawEnd: i, next: c === '\n' ? i + 1 : i + 2 }, problem);
    }
    if (c === '\r' && i + 1 >= buf.length && !final) return null;
    if (afterQuote) problem ??= { code: 'bad_quotes', message: 'text after a closing quote' };
    field += c;
    i += 1;
  }
}

const withProblem = (scanned: Scanned, problem: RowReason | undefined): Scanned => (problem ? { ...scanned, problem } : scanned);

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

export interface StockRow {
  transactionId: string;
  type: 'shop.stock.received.v1' | 'shop.stock.sold.v1';
  /** ISO 8601 in UTC (toISOString). */
  time: string;
  store: string;
  sku: string;
  quantity: number;
}

export type RowResult = { ok: true; row: StockRow } | { ok: false; reasons: RowReason[] };

const eventTypes: Readonly<Record<string, StockRow['type']>> = {
  incoming: 'shop.stock.received.v1',
  sale: 'shop.stock.sold.v1',
};
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_QUANTITY = 1_000_000_000;

const trim = (value: string): string => value.replace(/^[ \t]+|[ \t]+$/g, '');

/**
 * Checks the six fields of one row (surrounding spaces and tabs are ignored) and returns the
 * row, or every reason it fails. Values are data only: identifiers must match the id pattern,
 * so nothing like `$where` or `{"$gt":""}` can reach MongoDB.
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
  const storeProblem = idProblem('store_number', store);
  if (storeProblem) reasons.push({ code: 'bad_store', message: storeProblem });
  const itemProblem = idProblem('item_number', item);
  if (itemProblem) reasons.push({ code: 'bad_item', message: itemProblem });
  const quantity = parseQuantity(value);
  if (typeof quantity === 'string') reasons.push({ code: 'bad_value', message: quantity });
  if (reasons.length > 0 || type === undefined || time === null || typeof quantity === 'string') return { ok: false, reasons };
  return { ok: true, row: { transactionId: id.toLowerCase(), type, time, store, sku: item, quantity } };
}

const excerpt = (value: string): string => (value.length > 20 ? `${value.slice(0, 20)}…` : value);

function idProblem(column: string, value: string): string | null {
  if (value === '') return `${column}: empty`;
  if (idSchema.safeParse(value).success) return null;
  return `${column}: not a valid id (letters, digits, _ and -, at most 64)`;
}

function parseQuantity(value: string): number | string {
  if (value === '') return 'value: empty';
  if (!/^\d+$/.test(value) || /^0+$/.test(value)) return 'value: not a positive integer';
  const quantity = Number(value);
  return quantity > MAX_QUANTITY ? `value: more than ${MAX_QUANTITY}` : quantity;
}

const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * A date (`2026-01-31`: midnight UTC) or an ISO 8601 date-time (`2026-01-31T10:00:00+02:00`,
 * seconds and fraction optional, `T` or a space) as an ISO string in UTC; a date-time without
 * an offset is read as UTC. Null when it is not one, or not a real calendar date and time.
 */
export function parseImportDate(value: string): string | null {
  const match = dateTimePattern.exec(value);
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offset = offsetMinutes(zone);
  if (offset === null) return null;
  const millis = fraction === '' ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  const time = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000;
  const result = new Date(time);
  const resultYear = result.getUTCFullYear();
  return resultYear >= 1000 && resultYear <= 9999 ? result.toISOString() : null;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function offsetMinutes(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 14 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}

/** The event a valid row stands for: the transaction id is the event id (the idempotency key). */
export function rowEvent(row: StockRow, source: string): StockReceived | StockSold {
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

/**
 * The transaction ids of a file, with the line each was first accepted on: an open-addressing
 * table of 128-bit ids in one typed array (5 words a slot, about 40 bytes an id at 1M ids)
 * instead of a Set of strings (well over 100 bytes an id).
 */
export class TransactionIds {
  private static readonly WORDS = 5;
  private table: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialSlots = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, initialSlots)));
    this.table = new Uint32Array(slots * TransactionIds.WORDS);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Records a UUID first seen on `line` (>= 1); returns the earlier line when it was seen before. */
  remember(uuid: string, line: number): number | null {
    const words = uuidWords(uuid);
    const found = this.find(this.table, this.mask, words);
    const at = found * TransactionIds.WORDS;
    const earlier = this.table[at + 4] ?? 0;
    if (earlier !== 0) return earlier;
    this.table.set([...words, line], at);
    this.count += 1;
    if (this.count * 4 > (this.mask + 1) * 3) this.grow();
    return null;
  }

  // The slot holding `words`, or the empty slot where they belong (line 0 marks empty).
  private find(table: Uint32Array, mask: number, words: readonly number[]): number {
    const [a = 0, b = 0, c = 0, d = 0] = words;
    let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35), 0x27d4eb2d);
    h ^= h >>> 15;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const at = slot * TransactionIds.WORDS;
      if (table[at + 4] === 0) return slot;
      if (table[at] === a && table[at + 1] === b && table[at + 2] === c && table[at + 3] === d) return slot;
    }
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    const table = new Uint32Array(slots * TransactionIds.WORDS);
    for (let at = 0; at < old.length; at += TransactionIds.WORDS) {
      if (old[at + 4] === 0) continue;
      const entry = old.subarray(at, at + TransactionIds.WORDS);
      table.set(entry, this.find(table, slots - 1, [...entry.subarray(0, 4)]) * TransactionIds.WORDS);
    }
    this.table = table;
    this.mask = slots - 1;
  }
}

function uuidWords(uuid: string): [number, number, number, number] {
  const hex = uuid.replaceAll('-', '');
  return [0, 8, 16, 24].map((start) => Number.parseInt(hex.slice(start, start + 8), 16) >>> 0) as [number, number, number, number];
}
