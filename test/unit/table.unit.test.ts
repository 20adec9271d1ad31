import { describe, expect, it } from 'vitest';
import { borderWidth, fitTable, fitWidths, renderPairs, renderTable, shortIds, shortTime, type Column } from '../../src/ui/table.js';
import { padText, printable, printableBytes, textWidth, truncateText } from '../../src/ui/text.js';

const widthOf = (table: string): number => Math.max(...table.split('\n').map(textWidth));

interface Row {
  id: string;
  name: string;
  note: string;
  count: number;
}

const uuid = '6b01385b-ae1d-5a38-b78b-5d2ee20b5898';
const rows: Row[] = [
  { id: uuid, name: 'Emmanuelle Ernser-Hayes', note: 'a rather long note that does not fit anywhere near eighty columns', count: 1234567 },
  { id: '8cc65959-da68-54ad-8a75-700db5e04f0f', name: 'Osborne Gislason', note: 'short', count: 17 },
];
const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id, ids: true, keep: true },
  { header: 'name', value: (r) => r.name },
  { header: 'note', value: (r) => r.note },
  { header: 'count', value: (r) => r.count },
];

describe('text width', () => {
  it('counts columns, not code units: wide CJK and emoji take two, combining marks none', () => {
    expect(textWidth('abc')).toBe(3);
    expect(textWidth('日本語')).toBe(6);
    expect(textWidth('👍')).toBe(2);
    expect(textWidth('e\u0301')).toBe(1); // e + combining acute
    expect(textWidth('Łódź')).toBe(4);
  });

  it('cuts to a width with an ellipsis, never inside a wide character', () => {
    expect(truncateText('abcdef', 6)).toBe('abcdef');
    expect(truncateText('abcdef', 4)).toBe('abc…');
    // 日本語 is 6 columns: in 4, one character (2) and the ellipsis (1) fit, not half of the second.
    expect(truncateText('日本語', 4)).toBe('日…');
    expect(textWidth(truncateText('日本語', 4))).toBeLessThanOrEqual(4);
    expect(padText('日本', 6)).toBe('日本  ');
    expect(padText('7', 3, 'right')).toBe('  7');
  });
});

describe('fitWidths', () => {
  it('leaves a table that fits, or any table without a width, as it is', () => {
    expect(fitWidths([10, 20], [5, 5], ['cut', 'cut'], undefined)).toEqual([10, 20]);
    expect(fitWidths([10, 20], [5, 5], ['cut', 'cut'], 10 + 20 + borderWidth(2))).toEqual([10, 20]);
  });

  it('narrows the widest columns that give way first, to exactly the width', () => {
    // 7 + 40 + 30 + borders 10 = 87 -> 80: the 40 gives 7, the 30 nothing.
    expect(fitWidths([7, 40, 30], [7, 5, 5], ['none', 'cut', 'cut'], 80)).toEqual([7, 33, 30]);
    // -> 60: both come down to a common width.
    const widths = fitWidths([7, 40, 30], [7, 5, 5], ['none', 'cut', 'cut'], 60);
    expect(widths[0]).toBe(7);
    expect(widths.reduce((a, b) => a + b, 0) + borderWidth(3)).toBe(60);
    expect(Math.abs(widths[1]! - widths[2]!)).toBeLessThanOrEqual(1);
  });

  it('never narrows a column that gives no way, nor any below its minimum', () => {
    const widths = fitWidths([12, 40, 9], [12, 8, 9], ['none', 'cut', 'none'], 20);
    expect(widths).toEqual([12, 8, 9]);
  });
});

describe('renderTable', () => {
  it('without a width (a pipe, --wide): everything in full, a rule under the header', () => {
    const text = renderTable(rows, columns);
    expect(text).toContain(uuid);
    expect(text).toContain(rows[0]!.note);
    expect(text).not.toContain('…');
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^│ id\s+│ name\s+│ note\s+│\s+count │$/);
    expect(lines[2]).toMatch(/^├─+┼─+┼─+┼─+┤$/);
    expect(lines[3]).toContain(uuid);
    // Colour off: no escape sequences at all.
    expect(text).not.toContain('\u001b');
  });

  it('with a width: fits it, ids short, the widest text cut with "…", numbers whole', () => {
    const full = renderTable(rows, columns);
    expect(widthOf(full)).toBeGreaterThan(80);
    for (const width of [80, 60, 50]) {
      const text = renderTable(rows, columns, { width });
      expect(widthOf(text), `width ${width}:\n${text}`).toBeLessThanOrEqual(width);
      expect(text).toContain('6b01385b │');
      expect(text).not.toContain(uuid);
      expect(text).toContain('1234567');
      expect(text).toContain('…');
    }
    // The header stays, the rule too.
    expect(renderTable(rows, columns, { width: 60 }).split('\n')[2]).toMatch(/^├─+┼/);
  });

  it('never cuts numbers, right-aligned or kept columns, even when the table cannot fit', () => {
    const text = renderTable([{ a: 123456789012, b: 'SKU-4F7QX2AB', c: 'x'.repeat(50) }], [
      { header: 'a', value: (r) => r.a },
      { header: 'b', value: (r) => r.b, keep: true },
      { header: 'c', value: (r) => r.c },
    ], { width: 20 });
    expect(text).toContain('123456789012');
    expect(text).toContain('SKU-4F7QX2AB');
    expect(text).toMatch(/x+…/);
  });

  it('uses the short form of a column only when fitting', () => {
    const cols: Column<{ id: string; name: string }>[] = [{ header: 'customer', value: (r) => r.id, fitted: (r) => r.name }];
    const data = [{ id: uuid, name: 'Ada Lovelace' }];
    expect(renderTable(data, cols, { width: 80 })).toContain('Ada Lovelace');
    expect(renderTable(data, cols, { width: 80 })).not.toContain('6b01385b');
    expect(renderTable(data, cols)).toContain(uuid);
  });

  it('measures wide characters by their columns, so borders line up', () => {
    const text = renderTable(
      [{ name: '東京都の店舗', n: 1 }, { name: 'Kraków', n: 22 }],
      [
        { header: 'name', value: (r) => r.name },
        { header: 'n', value: (r) => r.n },
      ],
    );
    const widths = new Set(text.split('\n').map(textWidth));
    expect(widths.size).toBe(1);
    const cut = renderTable([{ name: '東京都の店舗とその他の店舗の一覧', n: 1 }], [{ header: 'name', value: (r) => r.name }, { header: 'n', value: (r) => r.n }], { width: 20 });
    expect(new Set(cut.split('\n').map(textWidth))).toEqual(new Set([20]));
    expect(cut).toContain('…');
  });

  it('escapes control characters in cells, so data cannot drive the terminal', () => {
    const text = renderTable([{ m: 'a\u0000b\u001b[31mred\nline' }], [{ header: 'm', value: (r) => r.m }]);
    expect(text).toContain('a\\x00b\\x1b[31mred line');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it('colours the header and borders only when asked', () => {
    expect(renderTable(rows, columns, { color: true })).toMatch(new RegExp(`${'\u001b'}\\[36m *id`));
    expect(renderTable(rows, columns, { color: false })).not.toContain('\u001b[');
  });
});

describe('renderPairs', () => {
  it('wraps a long value rather than cutting it when a width is given', () => {
    const long = `mongodb://${'h'.repeat(90)}:27017`;
    const text = renderPairs([['uri', long], ['n', 3]], { width: 40 });
    expect(widthOf(text)).toBeLessThanOrEqual(40);
    expect(text.split('\n').map((line) => line.replace(/[│ ]/g, '').replace(/^uri/, '')).join('')).toContain(long);
    expect(renderPairs([['uri', long]])).toContain(long);
  });
});

describe('printable text', () => {
  it('escapes controls: named ones as \\n \\t \\r, others and C1 as \\xNN', () => {
    expect(printable('a\nb\tc\rd\u0000e\u001bf\u007fg\u009bh')).toBe('a\\nb\\tc\\rd\\x00e\\x1bf\\x7fg\\x9bh');
    expect(printable('plain Łódź 日本')).toBe('plain Łódź 日本');
  });

  it('shows bytes that are not UTF-8 as \\xNN and keeps the UTF-8 ones as text', () => {
    expect(printableBytes(Buffer.from([0x00, 0xff, 0xfe, 0x1b]))).toBe('\\x00\\xff\\xfe\\x1b');
    expect(printableBytes(Buffer.concat([Buffer.from('zł '), Buffer.from([0xc3]), Buffer.from('ok')]))).toBe('zł \\xc3ok');
    // Overlong encodings and surrogates are not UTF-8.
    expect(printableBytes(Buffer.from([0xc0, 0xaf]))).toBe('\\xc0\\xaf');
    expect(printableBytes(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
    expect(printableBytes(Buffer.from('😀', 'utf8'))).toBe('😀');
  });
});

describe('short forms', () => {
  it('shortens UUIDs to 8 characters and times to the minute', () => {
    expect(shortIds(`purchase ${uuid} done`)).toBe('purchase 6b01385b done');
    expect(shortIds('0:12')).toBe('0:12');
    expect(shortTime('2026-01-31T10:15:42.123Z')).toBe('2026-01-31T10:15Z');
    expect(shortTime('not a time')).toBe('not a time');
  });

  it('fitTable cuts only what gives way', () => {
    const fitted = fitTable({ headers: ['a', 'b'], rows: [['x'.repeat(30), 'y'.repeat(30)]], give: ['none', 'cut'] }, 50);
    expect(fitted.rows[0]![0]).toEqual(['x'.repeat(30)]);
    expect(fitted.rows[0]![1]![0]).toMatch(/^y+…$/);
    expect(fitted.widths.reduce((a, b) => a + b, 0) + borderWidth(2)).toBe(50);
  });
});

describe('scripts whose width is measured differently', () => {
  it('a Thai name stays whole in full and when the table fits (cli-table3 measures it wider than we do)', () => {
    const thai = 'สมศักดิ์ มีสุข';
    const cols: Column<{ n: string }>[] = [{ header: 'name', value: (r) => r.n }];
    expect(renderTable([{ n: thai }], cols)).toContain(thai);
    expect(renderTable([{ n: thai }], cols, { width: 80 })).toContain(thai);
  });
});

describe('headers', () => {
  it('are cut only when the table cannot fit with them whole', () => {
    const data = [{ a: 'x'.repeat(12), b: 'long text here' }];
    const cols: Column<(typeof data)[number]>[] = [
      { header: 'a', value: (r) => r.a, keep: true },
      { header: 'a long header', value: (r) => r.b },
    ];
    expect(renderTable(data, cols, { width: 32 })).toContain('a long header');
    const narrow = renderTable(data, cols, { width: 26 });
    expect(widthOf(narrow)).toBe(26);
    expect(narrow).toMatch(/│ a long… │/);
  });
});
