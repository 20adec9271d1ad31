import Table from 'cli-table3';
import { paint } from './output.js';
import { printable, textWidth, truncateText } from './text.js';

// Tables for people, drawn by cli-table3 (a rule under the header, none between rows) after
// being fitted here: given a width (stdout is a terminal and --wide was not given), ids are
// shortened, columns prefer their short form, and the widest text columns are
// cut with "…" until the table fits. Without a width (--wide, or a pipe) everything is in full.

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number;
  align?: 'left' | 'right';
  /** The cell of a fitted table, where it has a shorter form (a name instead of an id). */
  fitted?: (row: Row) => string | number;
  /** Cells holding ids: a UUID in them shows as its first 8 characters in a fitted table. */
  ids?: boolean;
  /** Never cut with "…" (numbers and right-aligned columns never are). */
  keep?: boolean;
  /** Wrapped onto more lines instead of cut, when the table is too wide (a value that must be read whole). */
  wrap?: boolean;
}

export interface TableOptions {
  color?: boolean;
  /** The terminal's width: fit the table to it. Undefined: print everything in full. */
  width?: number | undefined;
}

/** How a column gives way when the table is too wide: not at all, cut with "…", or wrapped onto more lines. */
export type Give = 'none' | 'cut' | 'wrap';

export interface TableText {
  /** Null: a table without a header row. */
  headers: readonly string[] | null;
  rows: ReadonlyArray<readonly string[]>;
  give: readonly Give[];
}

export interface FittedTable {
  headers: string[] | null;
  /** Each cell as its lines (one, unless its column wraps). */
  rows: string[][][];
  widths: number[];
  /** Per column: narrowed below its natural width (its cells were cut or wrapped to `widths`). */
  narrowed: boolean[];
}

/** Columns a table adds to its cells' widths: a border and a space either side of each cell. */
export const borderWidth = (columns: number): number => 3 * columns + 1;

/** The narrowest a column that gives way becomes: its header (unless that cannot fit), and at least this many columns. */
const MIN_COLUMN = 5;

/**
 * Column widths for a table within `width` columns (undefined: no limit): the columns that give
 * way are narrowed widest first, down to a common width (each to its minimum at most), and
 * what is left over goes back to them from the left. The others keep their full width.
 */
export function fitWidths(natural: readonly number[], minimum: readonly number[], give: readonly Give[], width: number | undefined): number[] {
  const total = (widths: readonly number[]) => widths.reduce((sum, w) => sum + w, 0) + borderWidth(widths.length);
  if (width === undefined || total(natural) <= width) return [...natural];
  const at = (level: number) => natural.map((w, i) => (give[i] === 'none' ? w : Math.max(minimum[i] ?? 0, Math.min(w, level))));
  let low = 0;
  let high = Math.max(0, ...natural);
  // The largest common width that fits (widths only grow with it); 0 when even the minimums do not.
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (total(at(mid)) <= width) low = mid;
    else high = mid - 1;
  }
  const widths = at(low);
  let spare = width - total(widths);
  for (let i = 0; i < widths.length && spare > 0; i += 1) {
    if (give[i] !== 'none' && widths[i] === low && natural[i]! > low && low >= (minimum[i] ?? 0)) {
      widths[i]! += 1;
      spare -= 1;
    }
  }
  return widths;
}

/** `text` in lines of at most `width` columns (hard wrapped, never inside a character). */
export function wrapText(text: string, width: number): string[] {
  if (width <= 0 || textWidth(text) <= width) return [text];
  const lines: string[] = [];
  let line = '';
  for (const char of Array.from(text)) {
    if (textWidth(line + char) > width && line !== '') {
      lines.push(line);
      line = '';
    }
    line += char;
  }
  lines.push(line);
  return lines;
}

/**
 * The pure part of fitting: cell texts (already printable, one line each) and the width of the
 * terminal in, the column widths and each cell cut (or wrapped) to its column out. Numbers and
 * other columns that give no way are never touched; nor is anything when `width` is undefined.
 */
export function fitTable(table: TableText, width: number | undefined): FittedTable {
  const columns = table.give.length;
  const natural = Array.from({ length: columns }, (_, i) =>
    Math.max(table.headers ? textWidth(table.headers[i] ?? '') : 0, ...table.rows.map((row) => textWidth(row[i] ?? ''))),
  );
  // Headers whole if that fits; else they are cut too, down to MIN_COLUMN.
  const minimum = natural.map((w, i) => Math.min(w, Math.max(MIN_COLUMN, table.headers ? textWidth(table.headers[i] ?? '') : 0)));
  let widths = fitWidths(natural, minimum, table.give, width);
  if (width !== undefined && widths.reduce((sum, w) => sum + w, 0) + borderWidth(columns) > width) {
    widths = fitWidths(natural, natural.map((w) => Math.min(w, MIN_COLUMN)), table.give, width);
  }
  const cell = (text: string, i: number): string[] => {
    const w = widths[i]!;
    if (textWidth(text) <= w) return [text];
    return table.give[i] === 'wrap' ? wrapText(text, w) : [truncateText(text, w)];
  };
  return {
    headers: table.headers ? table.headers.map((header, i) => truncateText(header, widths[i]!)) : null,
    rows: table.rows.map((row) => Array.from({ length: columns }, (_, i) => cell(row[i] ?? '', i))),
    widths,
    narrowed: widths.map((w, i) => w < natural[i]!),
  };
}

/** An ISO time to the minute, for a fitted table: 2026-01-31T10:15:42.123Z -> 2026-01-31T10:15Z (still ISO 8601, still UTC). */
export const shortTime = (iso: string): string => iso.replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z$/, '$1Z');

const UUID = /\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/** UUIDs in `text` as their first 8 characters (as git shortens hashes). */
export const shortIds = (text: string): string => text.replace(UUID, '$1');

// No rule between rows; cli-table3 draws the rule under the header with these same characters,
// so that one is put back by draw() below.
const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/**
 * A fitted table drawn by cli-table3 (cells already cut to their widths, so it cuts nothing), with
 * a rule under the header. Colours are ours (cli-table3's own follow its colour library's guess
 * of the terminal, not --no-color / NO_COLOR as the rest of the output does).
 */
function draw(fitted: FittedTable, aligns: ReadonlyArray<'left' | 'right'>, color: boolean): string {
  const table = new Table({
    chars: compact,
    // A narrowed column: its width as fitted, plus cli-table3's one space of padding either side.
    // The others cli-table3 measures for itself (its measure of some scripts, e.g. Thai, is wider
    // than ours: given ours, it would cut what must be whole).
    colWidths: fitted.widths.map((w, i) => (fitted.narrowed[i] ? w + 2 : null)),
    colAligns: [...aligns],
    style: { head: [], border: [] },
    ...(fitted.headers ? { head: fitted.headers.map((header) => paint('cyan', header, color)) } : {}),
  });
  for (const row of fitted.rows) table.push(row.map((lines) => lines.join('\n')));
  let lines = table.toString().split('\n');
  if (fitted.headers) {
    // The top border with its corners turned into tees is the rule under the header.
    const top = lines[0] ?? '';
    lines = [top, lines[1] ?? '', top.replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤'), ...lines.slice(2)];
  }
  return color ? lines.map((line) => line.replace(/[─│┌┐└┘├┤┬┴┼]+/g, (border) => paint('grey', border, true))).join('\n') : lines.join('\n');
}

/**
 * Rows as a table, a rule under the header. Numbers are right-aligned by default. With a
 * `width`, the table is fitted to it (see the top of this file); cells are always printable
 * (control characters escaped, see ui/text.ts), so data cannot garble the terminal.
 */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], options: TableOptions = {}): string {
  const fitting = options.width !== undefined;
  const values = rows.map((row) => columns.map((column) => (fitting && column.fitted ? column.fitted(row) : column.value(row))));
  const give: Give[] = columns.map((column, i) =>
    column.keep || column.align === 'right' || values.some((row) => typeof row[i] === 'number') ? 'none' : column.wrap ? 'wrap' : 'cut',
  );
  const text = values.map((row) =>
    row.map((value, i) => {
      // One line per row: runs of white space (newlines included) are one space.
      const cell = printable(String(value).replace(/[\t\n\r ]+/g, ' ').trim());
      return fitting && columns[i]!.ids ? shortIds(cell) : cell;
    }),
  );
  const fitted = fitTable({ headers: columns.map((column) => column.header), rows: text, give }, options.width);
  return draw(
    fitted,
    columns.map((column, i) => column.align ?? (values.some((row) => typeof row[i] === 'number') ? 'right' : 'left')),
    options.color ?? false,
  );
}

/**
 * Two-column key/value table, for a record or a summary. Values are shown whole: on a narrow
 * terminal a long one is wrapped onto more lines, not cut.
 */
export function renderPairs(pairs: ReadonlyArray<readonly [string, string | number]>, options: TableOptions = {}): string {
  const rows = pairs.map(([key, value]) => [printable(key), printable(String(value))]);
  const fitted = fitTable({ headers: null, rows, give: ['none', 'wrap'] }, options.width);
  return draw(fitted, ['left', 'left'], options.color ?? false);
}
