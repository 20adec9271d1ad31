import type { RowReason } from './import-reasons.js';

// A small RFC 4180 reader for the stock manager's CSV files, fed a chunk at a time: it keeps each
// record's raw text and line number (for the errors topic). Pure: no I/O.

/** Longest record (characters) the reader buffers; a valid row is well under 300. */
export const MAX_RECORD_CHARS = 65_536;

export interface CsvRecord {
  /** Physical line (1-based) the record starts on; the header is line 1. */
  line: number;
  fields: string[];
  /** The record as written, without its line terminator (may span lines inside quotes). */
  raw: string;
  /** Set when the record could not be read cleanly; its fields are then not trusted. */
  problem?: RowReason;
}

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
  private encodingChecked = false;

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
    const out = this.readRecords(final);
    const [first] = out;
    if (first && !this.encodingChecked) {
      // The first record (the header) tells a UTF-16 file read as UTF-8: NULs every other byte.
      this.encodingChecked = true;
      const encoding = utf16Of(first.raw);
      if (encoding) first.problem = { code: 'bad_encoding', message: `${encoding}, not UTF-8` };
    }
    return out;
  }

  private readRecords(final: boolean): CsvRecord[] {
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

/**
 * 'UTF-16 LE' or 'UTF-16 BE' when `text` is UTF-16 decoded as UTF-8, else null: a byte-order mark
 * (FF FE or FE FF, each decoded as two U+FFFD) followed by NULs, or, without one, a NUL in every
 * other character (the high byte of each ASCII character). Which of each pair is NUL gives the
 * byte order.
 */
export function utf16Of(text: string): 'UTF-16 LE' | 'UTF-16 BE' | null {
  const stripped = text.replace(/^\uFEFF|^\uFFFD\uFFFD/, '');
  const bom = stripped.length !== text.length;
  const body = stripped.slice(0, 400);
  if (body.length < 2) return null;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < body.length; i += 1) {
    if (body.charCodeAt(i) !== 0) continue;
    if (i % 2 === 0) even += 1;
    else odd += 1;
  }
  const pairs = Math.floor(body.length / 2);
  // With a mark one NUL says enough; without one, most pairs must have one.
  const needed = bom ? 1 : Math.max(1, Math.floor(pairs * 0.6));
  if (odd >= needed && odd > even) return 'UTF-16 LE';
  if (even >= needed && even > odd) return 'UTF-16 BE';
  return null;
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
