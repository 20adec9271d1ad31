import Table from 'cli-table3';

// Compact: no rule between rows.
const chars = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number;
  align?: 'left' | 'right';
}

// Renders rows as a cli-table3 table; numbers are right-aligned by default.
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], options: { color?: boolean } = {}): string {
  const table = new Table({
    chars,
    head: columns.map((column) => column.header),
    style: { head: options.color ? ['cyan'] : [], border: options.color ? ['grey'] : [] },
    colAligns: columns.map((column) => column.align ?? 'left'),
  });
  for (const row of rows) table.push(columns.map((column) => String(column.value(row))));
  return table.toString();
}

// Two-column key/value table, for summaries.
export function renderPairs(pairs: ReadonlyArray<readonly [string, string | number]>, options: { color?: boolean } = {}): string {
  const table = new Table({ chars, style: { head: [], border: options.color ? ['grey'] : [] } });
  for (const [key, value] of pairs) table.push({ [key]: String(value) });
  return table.toString();
}
