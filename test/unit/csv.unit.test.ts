import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CsvReader,
  headerProblems,
  IMPORT_HEADER,
  MAX_RECORD_CHARS,
  parseImportDate,
  reasonCodes,
  RowValidator,
  rowEvent,
  TransactionIds,
  validateFields,
  type CsvRecord,
  type ReasonCode,
} from '../../src/domain/csv.js';
import { utf16Of } from '../../src/domain/csv-reader.js';
import type { ShopEvent } from '../../src/domain/events.js';
import { checkImportFile, importErrorMessage, importFile, UnusableFileError, type ErrorSink, type ImportProblem } from '../../src/services/import.js';
import { isEncoded, type EventSink, type SinkTotals } from '../../src/services/sinks.js';

const HEADER = IMPORT_HEADER.join(',');
const ID = '4f9c1d2e-8a7b-4c3d-9e1f-2a3b4c5d6e7f';
const row = (...fields: string[]) => fields;
const good = (overrides: Partial<Record<(typeof IMPORT_HEADER)[number], string>> = {}): string[] => {
  const values = { transaction_id: ID, event_type: 'incoming', date: '2026-01-31', store_number: 'berlin-1', item_number: 'SKU_42', value: '120', ...overrides };
  return IMPORT_HEADER.map((name) => values[name]);
};

/** All records of `text`, fed in pieces of `size` characters (Infinity: in one piece). */
function read(text: string, size = Infinity, max?: number): CsvRecord[] {
  const reader = new CsvReader(max);
  const records: CsvRecord[] = [];
  const step = Number.isFinite(size) ? size : Math.max(1, text.length);
  for (let i = 0; i < text.length; i += step) records.push(...reader.push(text.slice(i, i + step)));
  records.push(...reader.end());
  return records;
}
const simple = (records: CsvRecord[]) => records.map((r) => ({ line: r.line, fields: r.fields, ...(r.problem ? { problem: r.problem.code } : {}) }));
const codes = (fields: string[]): ReasonCode[] => {
  const result = validateFields(fields);
  return result.ok ? [] : result.reasons.map((reason) => reason.code);
};

describe('CsvReader', () => {
  it('reads plain lines with their line numbers, skipping blank lines, with or without a final newline', () => {
    const text = `${HEADER}\na,b\n\n   \nc,d`;
    expect(simple(read(text))).toEqual([
      { line: 1, fields: [...IMPORT_HEADER] },
      { line: 2, fields: ['a', 'b'] },
      { line: 5, fields: ['c', 'd'] },
    ]);
    expect(simple(read(`${text}\n`))).toEqual(simple(read(text)));
  });

  it('strips a BOM and CRLF line ends, keeping the raw text without the terminator', () => {
    const records = read(`\uFEFF${HEADER}\r\na,b\r\n"q,1",x\r\n`);
    expect(records[0]!.fields[0]).toBe('transaction_id');
    expect(records[1]).toEqual({ line: 2, fields: ['a', 'b'], raw: 'a,b' });
    expect(records[2]).toEqual({ line: 3, fields: ['q,1', 'x'], raw: '"q,1",x' });
  });

  it('reads RFC 4180 quotes: commas, doubled quotes and line breaks inside quoted fields', () => {
    const text = 'a,"b,c","say ""hi""",""\n"multi\nline\r\nfield",z\nnext,row\n';
    const records = read(text);
    expect(simple(records)).toEqual([
      { line: 1, fields: ['a', 'b,c', 'say "hi"', ''] },
      { line: 2, fields: ['multi\nline\r\nfield', 'z'] },
      { line: 5, fields: ['next', 'row'] },
    ]);
    expect(records[1]!.raw).toBe('"multi\nline\r\nfield",z');
  });

  it('gives the same records however the text is cut into chunks', () => {
    const text = `\uFEFF${HEADER}\r\na,"b ""x"", y",c\r\n\r\n"l1\nl2",d\r\nplain,row\r\n"a""","""b"\n"unterminated,x\nafter,it`;
    const whole = simple(read(text));
    for (const size of [1, 2, 3, 5, 7, 64]) expect(simple(read(text, size)), `chunks of ${size}`).toEqual(whole);
  });

  it('treats a quote inside an unquoted field as a character, and reports text after a closing quote', () => {
    expect(simple(read('ab"c,d\n'))).toEqual([{ line: 1, fields: ['ab"c', 'd'] }]);
    expect(simple(read('"abc"x,d\nok,1\n'))).toEqual([
      { line: 1, fields: ['abcx', 'd'], problem: 'bad_quotes' },
      { line: 2, fields: ['ok', '1'] },
    ]);
  });

  it('spoils only the first line of a quote that is never closed, and reads on from the next line', () => {
    const records = read('h\n"open,1\nb,2\nc,3\n');
    expect(simple(records)).toEqual([
      { line: 1, fields: ['h'] },
      { line: 2, fields: [], problem: 'bad_quotes' },
      { line: 3, fields: ['b', '2'] },
      { line: 4, fields: ['c', '3'] },
    ]);
    expect(records[1]!.raw).toBe('"open,1');
  });

  it('bounds what it buffers: an overlong line or quoted record is reported, not kept', () => {
    const long = 'x'.repeat(300);
    const records = read(`a,b\n${long}\n"${long}\nc,d\n${long}`, 50, 100);
    expect(simple(records)).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: [], problem: 'line_too_long' },
      { line: 3, fields: [], problem: 'line_too_long' },
      { line: 4, fields: ['c', 'd'] },
      { line: 5, fields: [], problem: 'line_too_long' },
    ]);
    // A quote closed only after more than the limit spoils its first line alone.
    const y = 'y,'.repeat(20);
    const spanning = read(`"a\n${y}\n${y}\n${y}\n"\nok,1\n`, 10, 100);
    expect(spanning.map((r) => `${r.line}:${r.problem?.code ?? r.fields.length}`)).toEqual(['1:bad_quotes', '2:21', '3:21', '4:21', '5:bad_quotes', '6:2']);
    expect(MAX_RECORD_CHARS).toBeGreaterThan(1000);
  });
});

describe('header', () => {
  it('accepts exactly the stock manager header (surrounding spaces ignored)', () => {
    expect(headerProblems([...IMPORT_HEADER])).toEqual([]);
    expect(headerProblems(IMPORT_HEADER.map((name) => ` ${name} `))).toEqual([]);
  });

  it('names missing, unexpected, repeated and misordered columns', () => {
    expect(headerProblems(IMPORT_HEADER.slice(0, 5))).toEqual(['missing: value']);
    expect(headerProblems([...IMPORT_HEADER, 'note'])).toEqual(['unexpected: note']);
    expect(headerProblems([...IMPORT_HEADER.slice(0, 5), 'qty'])).toEqual(['missing: value', 'unexpected: qty']);
    expect(headerProblems([...IMPORT_HEADER, 'value'])).toEqual(['repeated: value']);
    const swapped = ['event_type', 'transaction_id', ...IMPORT_HEADER.slice(2)];
    expect(headerProblems(swapped)).toEqual([`wrong order: found ${swapped.join(',')}`]);
    expect(headerProblems([''])[0]).toMatch(/^missing: transaction_id/);
  });
});

describe('row rules', () => {
  it('turns a valid row into stock event data; incoming and sale', () => {
    expect(validateFields(good())).toEqual({
      ok: true,
      row: { transactionId: ID, type: 'shop.stock.received.v1', time: '2026-01-31T00:00:00.000Z', store: 'berlin-1', sku: 'SKU_42', quantity: 120 },
    });
    const sale = validateFields(good({ event_type: 'sale', transaction_id: ID.toUpperCase(), value: ' 7 ' }));
    expect(sale).toMatchObject({ ok: true, row: { type: 'shop.stock.sold.v1', transactionId: ID, quantity: 7 } });
  });

  it('collects every reason a row fails, each with a stable code', () => {
    const result = validateFields(row('nope', 'return', '2026-02-30', '', 'a$b', '1.5'));
    expect(result).toEqual({
      ok: false,
      reasons: [
        { code: 'bad_transaction_id', message: 'transaction_id: not a UUID' },
        { code: 'bad_event_type', message: "event_type: expected incoming or sale, got 'return'" },
        { code: 'bad_date', message: 'date: not a date (YYYY-MM-DD) or ISO 8601 date-time' },
        { code: 'bad_store', message: 'store_number: empty' },
        { code: 'bad_item', message: "item_number: not a valid id, contains '$' (1-200 characters; no control characters, '$' or surrounding spaces)" },
        { code: 'bad_value', message: 'value: not a positive integer' },
      ],
    });
    expect(codes(good().slice(0, 5))).toEqual(['wrong_column_count']);
    expect(codes([...good(), 'extra'])).toEqual(['wrong_column_count']);
    expect(validateFields(['', '', '', '', '', ''])).toMatchObject({ ok: false, reasons: expect.arrayContaining([{ code: 'bad_value', message: 'value: empty' }]) as unknown });
  });

  it.each([
    ['1', 1],
    ['1000000000', 1_000_000_000],
    ['007', 7],
  ])('accepts the quantity %s', (value, quantity) => {
    expect(validateFields(good({ value }))).toMatchObject({ ok: true, row: { quantity } });
  });

  it.each(['0', '000', '-1', '+1', '1.5', '1.0', '1e3', '1,000', '0x10', 'ten', '1000000001', '99999999999999999999', 'Infinity'])(
    'rejects the quantity %s',
    (value) => {
      expect(codes(good({ value }))).toEqual(['bad_value']);
    },
  );

  it('rejects event types other than incoming and sale, case included', () => {
    for (const eventType of ['Incoming', 'SALE', 'count', 'toString', '__proto__', '']) expect(codes(good({ event_type: eventType }))).toEqual(['bad_event_type']);
  });

  it("accepts the stock manager's ids: any text up to 200 characters without control characters or '$'", () => {
    for (const id of ['Store 12', 'SKU.1', 'münchen', 'a_B-9', 'Ω-7', 'Lager (Süd) #3', 'sku;drop', 'x'.repeat(200)]) {
      expect(codes(good({ store_number: id, item_number: id })), id).toEqual([]);
    }
    // Surrounding spaces and tabs are not part of the id.
    expect(validateFields(good({ store_number: ' Store 12\t', item_number: ' SKU.1 ' }))).toMatchObject({ ok: true, row: { store: 'Store 12', sku: 'SKU.1' } });
    expect(codes(good({ store_number: 'A'.repeat(201) }))).toEqual(['bad_store']);
    expect(codes(good({ item_number: 'A'.repeat(201) }))).toEqual(['bad_item']);
    expect(codes(good({ transaction_id: `${ID}0` }))).toEqual(['bad_transaction_id']);
    expect(codes(good({ transaction_id: ID.replaceAll('-', '') }))).toEqual(['bad_transaction_id']);
  });

  it('names the rule an id breaks: control characters, \'$\', and for a store \':\' or \'/\'', () => {
    const message = (fields: string[]) => {
      const result = validateFields(fields);
      return result.ok ? [] : result.reasons.map((reason) => reason.message);
    };
    expect(message(good({ item_number: 'SKU\u00001' }))).toEqual([
      "item_number: not a valid id, contains a control character (1-200 characters; no control characters, '$' or surrounding spaces)",
    ]);
    expect(message(good({ store_number: 'a:b' }))).toEqual([
      "store_number: not a valid id, contains ':' or '/' (they separate store and SKU in stock keys) (1-200 characters; no control characters, '$' or surrounding spaces; no ':' or '/')",
    ]);
    expect(codes(good({ store_number: 'berlin/1' }))).toEqual(['bad_store']);
    // A SKU may hold them: the store (without them) comes first in every key.
    expect(codes(good({ item_number: 'a:b/c' }))).toEqual([]);
    expect(codes(good({ item_number: 'A'.repeat(300) }))).toEqual(['bad_item']);
  });

  it('keeps values data, never operators: values with $ are rejected in every column', () => {
    for (const attack of ['$where', '$gt', '{"$gt":""}', '{"$ne":null}', '$', 'x$']) {
      expect(codes(good({ store_number: attack })), attack).toEqual(['bad_store']);
      expect(codes(good({ item_number: attack })), attack).toEqual(['bad_item']);
      expect(codes(good({ transaction_id: attack })), attack).toEqual(['bad_transaction_id']);
      expect(codes(good({ event_type: attack })), attack).toEqual(['bad_event_type']);
      expect(codes(good({ date: attack })), attack).toEqual(['bad_date']);
      expect(codes(good({ value: attack })), attack).toEqual(['bad_value']);
    }
    // Through the reader too: a quoted JSON operator is just text in a field.
    const [record] = read(`${ID},incoming,2026-01-01,"{""$gt"":""""}",$where,1\n`);
    expect(record!.fields[3]).toBe('{"$gt":""}');
    expect(codes(record!.fields)).toEqual(['bad_store', 'bad_item']);
    const message = validateFields(good({ store_number: '$where' }));
    expect(!message.ok && message.reasons[0]!.message).toBe(
      "store_number: not a valid id, contains '$' (1-200 characters; no control characters, '$' or surrounding spaces; no ':' or '/')",
    );
  });
});

describe('dates', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['2026-01-31T10:20:30Z', '2026-01-31T10:20:30.000Z'],
    ['2026-01-31T10:20:30.123456Z', '2026-01-31T10:20:30.123Z'],
    ['2026-01-31t10:20:30z', '2026-01-31T10:20:30.000Z'],
    ['2026-01-31 10:20', '2026-01-31T10:20:00.000Z'],
    ['2026-01-31T10:20:30', '2026-01-31T10:20:30.000Z'],
    ['2026-01-31T01:00:00+02:00', '2026-01-30T23:00:00.000Z'],
    ['2026-01-31T23:30:00-0130', '2026-02-01T01:00:00.000Z'],
    ['2026-01-31T10:00+05', '2026-01-31T05:00:00.000Z'],
    ['2026-12-31T23:59:59.999-14:00', '2027-01-01T13:59:59.999Z'],
  ])('reads %s as %s', (input, expected) => {
    expect(parseImportDate(input)).toBe(expected);
  });

  it.each([
    '2026-02-30',
    '2023-02-29',
    '1900-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '2026-1-1',
    '26-01-01',
    '0999-01-01',
    '2026-01-31T24:00',
    '2026-01-31T10:60',
    '2026-01-31T10:00:60',
    '2026-01-31T10',
    '2026-01-31T10:00+15:00',
    '2026-01-31T10:00+02:60',
    '2026-01-31T10:00 +02:00',
    '31/01/2026',
    '1706659200',
    'today',
    ' 2026-01-31x',
  ])('rejects %s', (input) => {
    expect(parseImportDate(input)).toBeNull();
  });
});

describe('one file', () => {
  it('rejects a transaction id already accepted earlier in the file, naming that line', () => {
    const validator = new RowValidator();
    const at = (line: number, fields: string[], problem?: CsvRecord['problem']): CsvRecord => ({ line, fields, raw: fields.join(','), ...(problem ? { problem } : {}) });
    const other = randomUUID();
    expect(validator.validate(at(2, good({ value: 'x', transaction_id: other }))).ok).toBe(false); // rejected rows do not claim their id
    expect(validator.validate(at(3, good({ transaction_id: other }))).ok).toBe(true);
    expect(validator.validate(at(4, good())).ok).toBe(true);
    expect(validator.validate(at(5, good({ transaction_id: ID.toUpperCase(), value: '2' })))).toEqual({
      ok: false,
      reasons: [{ code: 'duplicate_transaction_id_in_file', message: 'transaction_id: already used on line 4' }],
    });
    expect(validator.validate(at(6, [], { code: 'bad_quotes', message: 'a quoted field is never closed' }))).toEqual({
      ok: false,
      reasons: [{ code: 'bad_quotes', message: 'a quoted field is never closed' }],
    });
  });

  it('remembers many transaction ids exactly, growing as it goes', () => {
    const ids = new TransactionIds(16);
    const uuids = Array.from({ length: 50_000 }, () => randomUUID());
    expect(uuids.filter((uuid, index) => ids.remember(uuid, index + 2) !== null)).toEqual([]);
    expect(ids.size).toBe(50_000);
    for (const index of [0, 1, 4_999, 49_999]) expect(ids.remember(uuids[index]!, 1)).toBe(index + 2);
    expect(ids.remember('00000000-0000-0000-0000-000000000000', 7)).toBeNull();
    expect(ids.remember('00000000-0000-0000-0000-000000000000', 8)).toBe(7);
  });

  it('makes the event: the transaction id is its id, the date its time', () => {
    const result = validateFields(good({ event_type: 'sale', date: '2026-01-31T10:00:00+01:00' }));
    if (!result.ok) throw new Error('expected a valid row');
    const event = rowEvent(result.row, 'shopctl/import');
    expect(event).toEqual({
      specversion: '1.0',
      id: ID,
      type: 'shop.stock.sold.v1',
      source: 'shopctl/import',
      time: '2026-01-31T09:00:00.000Z',
      subject: 'stock/berlin-1/SKU_42',
      data: { store: 'berlin-1', sku: 'SKU_42', quantity: 120 },
    });
  });

  it('has a test row for every reason code', () => {
    expect([...reasonCodes].sort()).toEqual(
      [
        'bad_date',
        'bad_encoding',
        'bad_event_type',
        'bad_item',
        'bad_quotes',
        'bad_store',
        'bad_transaction_id',
        'bad_value',
        'duplicate_transaction_id_in_file',
        'line_too_long',
        'wrong_column_count',
      ].sort(),
    );
  });
});

// The service with in-memory sinks: streaming, chunking, the errors topic records. No services.
describe('importFile', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const temp = async (name: string, text: string): Promise<string> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-csv-'));
    dirs.push(dir);
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };

  function memorySink(refuse: (event: ShopEvent) => string | null = () => null) {
    const totals: SinkTotals = { written: 0, duplicates: 0, rejected: [], conflicts: [] };
    const seen = new Set<string>();
    const writes: number[] = [];
    const sink: EventSink = {
      via: 'db',
      target: 'memory',
      write(chunk) {
        if (isEncoded(chunk)) throw new Error('memory sink: events only');
        const events = chunk;
        writes.push(events.length);
        for (const event of events) {
          const reason = refuse(event);
          if (reason) totals.rejected.push({ event, reason: 'insufficient_stock', message: reason });
          else if (seen.has(event.id)) totals.duplicates += 1;
          else {
            seen.add(event.id);
            totals.written += 1;
          }
        }
        return Promise.resolve();
      },
      totals: () => totals,
      close: () => Promise.resolve(),
    };
    return { sink, writes };
  }

  function memoryErrors() {
    const sent: ImportProblem[][] = [];
    const errors: ErrorSink = {
      topic: 'import-errors',
      send: (problems) => {
        sent.push([...problems]);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    return { errors, sent };
  }

  const line = (id: string, type: string, value: number | string, sku = 'A') => `${id},${type},2026-01-01,S1,${sku},${value}`;

  it('writes valid rows in chunks, sends invalid ones with file, line, raw and reasons, and counts everything', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => line(randomUUID(), 'incoming', i + 1));
    rows.splice(10, 0, line('bad', 'incoming', 0));
    const file = await temp('stock.csv', `\uFEFF${HEADER}\r\n${rows.join('\r\n')}\r\n`);
    const { sink, writes } = memorySink((event) => (event.type === 'shop.stock.received.v1' && event.data.quantity === 25 ? 'no stock' : null));
    const { errors, sent } = memoryErrors();
    const summary = await importFile(file, { via: 'db', sink, errors, chunkRows: 10 });
    expect(summary).toMatchObject({
      file: 'stock.csv',
      rows: { read: 26, accepted: 25, rejected: 1 },
      rejectedByReason: { bad_transaction_id: 1, bad_value: 1 },
      written: 24,
      duplicates: 0,
      refused: 1,
      refusedByReason: { insufficient_stock: 1 },
      errorsSent: 2,
      interrupted: false,
    });
    expect(writes).toEqual([10, 9, 6]); // a flush every 10 rows, valid or not
    expect(sent.flat()).toEqual([
      {
        file: 'stock.csv',
        line: 12,
        raw: 'bad,incoming,2026-01-01,S1,A,0',
        reasons: [
          { code: 'bad_transaction_id', message: 'transaction_id: not a UUID' },
          { code: 'bad_value', message: 'value: not a positive integer' },
        ],
        reason: 'invalid_row',
      },
      { file: 'stock.csv', line: 27, raw: rows[25], reasons: [{ code: 'insufficient_stock', message: 'no stock' }], reason: 'insufficient_stock' },
    ]);

    // Re-imports into the same sink: its totals are cumulative, and what importFile reports is
    // this file's share of them. A third run tells a share from a cumulative count of duplicates.
    const again = await importFile(file, { via: 'db', sink, errors, chunkRows: 10 });
    const third = await importFile(file, { via: 'db', sink, errors, chunkRows: 10 });
    expect(sink.totals()).toMatchObject({ written: 24, duplicates: 48 });
    for (const repeat of [again, third]) {
      expect(repeat).toMatchObject({ rows: { read: 26, accepted: 25, rejected: 1 }, written: 0, duplicates: 24, refused: 1, errorsSent: 2 });
      // Every accepted row is written, a duplicate, or refused: exactly one of them.
      expect(repeat.written + repeat.duplicates + repeat.refused).toBe(repeat.rows.accepted);
    }
  });

  it('validates only in a dry run', async () => {
    const file = await temp('dry.csv', `${HEADER}\n${line(randomUUID(), 'sale', 3)}\n${line(randomUUID(), 'sale', -3)}`);
    const summary = await importFile(file, { via: 'db', sink: null, errors: null });
    expect(summary).toMatchObject({ dryRun: true, rows: { read: 2, accepted: 1, rejected: 1 }, errorsTopic: null, errorsSent: 0, written: 0 });
    expect(summary.samples).toEqual([{ line: 3, reasons: ['value: not a positive integer'] }]);
  });

  it('refuses an unusable file before writing anything, naming it', async () => {
    await expect(checkImportFile('/nonexistent/stock.csv')).rejects.toThrow('File not found: /nonexistent/stock.csv');
    await expect(checkImportFile(tmpdir())).rejects.toThrow(UnusableFileError);
    const empty = await temp('empty.csv', '\n\n');
    await expect(checkImportFile(empty)).rejects.toThrow(`${empty} is empty: no header line`);
    const wrong = await temp('wrong.csv', `transaction_id,event_type,date,store,item_number,value\n${line(ID, 'sale', 1)}\n`);
    await expect(checkImportFile(wrong)).rejects.toThrow(/wrong\.csv: the header is not .*\(missing: store_number; unexpected: store\)/);
    const { sink, writes } = memorySink();
    await expect(importFile(wrong, { via: 'db', sink, errors: null })).rejects.toMatchObject({ code: 'IMPORT_FILE_UNUSABLE', exitCode: 2 });
    expect(writes).toEqual([]);
    const headerOnly = await temp('header.csv', `${HEADER}\n`);
    await expect(checkImportFile(headerOnly)).resolves.toBeUndefined();
  });

  it('names a UTF-16 file (with or without a byte-order mark) instead of calling its header garbled', async () => {
    const text = `${HEADER}\r\n${line(ID, 'incoming', 1)}\r\n`;
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(le).swap16();
    const cases: Array<[string, Buffer, string]> = [
      ['le-bom.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), le]), 'UTF-16 LE'],
      ['be-bom.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'UTF-16 BE'],
      ['le.csv', le, 'UTF-16 LE'],
      ['be.csv', be, 'UTF-16 BE'],
    ];
    for (const [name, bytes, encoding] of cases) {
      const file = await temp(name, '');
      await writeFile(file, bytes);
      await expect(checkImportFile(file), name).rejects.toThrow(`${file} is ${encoding}, not UTF-8; save it as UTF-8`);
      await expect(importFile(file, { via: 'db', sink: null, errors: null }), name).rejects.toMatchObject({ code: 'IMPORT_FILE_UNUSABLE', exitCode: 2 });
    }
    // The same text as UTF-8 (with its BOM too) is fine.
    const utf8 = await temp('utf8.csv', `\uFEFF${text}`);
    await expect(checkImportFile(utf8)).resolves.toBeUndefined();
    // One stray NUL in a UTF-8 header is a bad header, not UTF-16.
    expect(utf16Of(`${HEADER.slice(0, 10)}\u0000${HEADER.slice(10)}`)).toBeNull();
    expect(utf16Of('\uFFFD\uFFFDa\u0000b\u0000')).toBe('UTF-16 LE');
  });

  it('stops between chunks when told to, and says so', async () => {
    const rows = Array.from({ length: 30_000 }, () => line(randomUUID(), 'incoming', 1));
    const file = await temp('big.csv', `${HEADER}\n${rows.join('\n')}\n`);
    const controller = new AbortController();
    const { sink } = memorySink();
    const summary = await importFile(file, { via: 'db', sink, errors: null, signal: controller.signal, onProgress: () => controller.abort() });
    expect(summary.interrupted).toBe(true);
    expect(summary.rows.read).toBeLessThan(30_000);
    expect(summary.written).toBeGreaterThan(0);
  });

  it('builds the errors topic record the errors tool reads', () => {
    const message = importErrorMessage(
      { file: 'in.csv', line: 9, raw: 'a,b', reasons: [{ code: 'wrong_column_count', message: 'expected 6 columns, found 2' }], reason: 'invalid_row' },
      new Date('2026-01-02T00:00:00Z'),
    );
    expect(message.key).toBe('in.csv');
    expect(JSON.parse(String(message.value))).toEqual({ file: 'in.csv', line: 9, raw: 'a,b', reasons: [{ code: 'wrong_column_count', message: 'expected 6 columns, found 2' }] });
    expect(message.headers).toEqual({ 'x-dlq-reason': 'invalid_row', 'x-dlq-time': '2026-01-02T00:00:00.000Z', 'x-import-file': 'in.csv', 'x-import-line': '9' });
  });
});
