import { afterAll, describe, expect, it } from 'vitest';
import { createEvent } from '../../src/domain/events.js';
import { projectionSettings } from '../../src/services/projection-settings.js';
import { dbSink } from '../../src/services/sinks.js';
import { worlds, type World } from '../helpers/worlds.js';

// The commands agree with each other and with themselves: `list products` and `report sales`
// count the same units, --json names what the table shows under the same names, `history` is in
// event time order, `topics describe` shows every topic. Each test has a world of its own.

const json = <T>(text: string): T => JSON.parse(text) as T;

/** The headers of the first table in `text` (cli-table3 with colours off), as --json names them. */
function tableKeys(text: string): string[] {
  const header = text.split('\n').find((line) => line.startsWith('│'));
  if (!header) throw new Error(`no table in:\n${text}`);
  return header
    .split('│')
    .map((cell) => cell.trim())
    .filter((cell) => cell.length > 0)
    .map((cell) => (cell === '#' ? 'rank' : cell.replace(/\s*\(.*\)$/, '')))
    .map((cell) => cell.replace(/ (\w)/g, (_, letter: string) => letter.toUpperCase()));
}

let n = 0;
const at = (time: string) => ({ id: `cons-${Date.now()}-${++n}`, time, source: 'test' });

describe('consistency between commands', () => {
  const { world, cleanUp } = worlds('cons');

  async function ok(each: World, ...args: string[]): Promise<string> {
    const result = await each.cli(...args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  }

  /** Seeded customers and products in MongoDB, and random purchases of them. */
  async function shop(purchases: number): Promise<World> {
    const each = await world();
    await ok(each, 'make', 'customers', '--count', '4', '--seed', '41', '--via', 'db');
    await ok(each, 'make', 'products', '--count', '3', '--seed', '42', '--via', 'db');
    await ok(each, 'buy', '--random', '--count', String(purchases), '--seed', '43', '--via', 'db');
    return each;
  }

  afterAll(cleanUp);

  it('list products and report sales count the same units sold: purchases and store sales', async () => {
    const each = await shop(30);
    const before = json<Array<{ sku: string; sold: number }>>(await ok(each, 'list', 'products', '--json'));
    const sku = before[0]!.sku;
    await ok(each, 'stock', 'sell', '--sku', sku, '--quantity', '7');

    const purchased = await each.mongo.db
      .collection('purchases')
      .aggregate<{ _id: string; q: number }>([{ $group: { _id: '$sku', q: { $sum: '$quantity' } } }])
      .toArray();
    const expected = Object.fromEntries(before.map((p) => [p.sku, (purchased.find((row) => row._id === p.sku)?.q ?? 0) + (p.sku === sku ? 7 : 0)]));

    const listed = json<Array<{ sku: string; sold: number; revenue: { amount: number; currency: string } }>>(await ok(each, 'list', 'products', '--json'));
    const reported = json<Array<{ sku: string; sold: number; revenue: { amount: number; currency: string | null } }>>(await ok(each, 'report', 'sales', '--json'));
    expect(Object.fromEntries(listed.map((p) => [p.sku, p.sold]))).toEqual(expected);
    expect(Object.fromEntries(reported.map((p) => [p.sku, p.sold]))).toEqual(expected);
    // Revenue is from purchases only, the same in both.
    expect(Object.fromEntries(reported.map((p) => [p.sku, p.revenue.amount]))).toEqual(Object.fromEntries(listed.map((p) => [p.sku, p.revenue.amount])));

    // The tables say the same: `list products --sort sold` puts them in report's order, with report's numbers.
    const soldColumn = (table: string, header: string) => {
      const lines = table.split('\n').filter((line) => line.startsWith('│'));
      const headers = lines[0]!.split('│').map((cell) => cell.trim());
      const at = headers.indexOf(header);
      const skuAt = headers.indexOf('sku');
      return lines.slice(1).map((line) => {
        const cells = line.split('│').map((cell) => cell.trim());
        return [cells[skuAt], Number(cells[at])];
      });
    };
    const byList = soldColumn(await ok(each, 'list', 'products', '--sort', 'sold'), 'sold');
    const byReport = soldColumn(await ok(each, 'report', 'sales'), 'sold');
    expect(byList).toEqual(byReport);
    expect(Object.fromEntries(byList)).toEqual(expected);
  });

  it('list purchases --customer shows only that customer, counting theirs', async () => {
    const each = await shop(25);
    const customers = json<Array<{ id: string; purchases: number }>>(await ok(each, 'list', 'customers', '--sort', 'purchases', '--json'));
    const top = customers[0]!;
    expect(top.purchases).toBeGreaterThan(0);
    const theirs = json<Array<{ customer: string }>>(await ok(each, 'list', 'purchases', '--customer', top.id, '--limit', '100', '--json'));
    expect(theirs).toHaveLength(top.purchases);
    expect(new Set(theirs.map((p) => p.customer))).toEqual(new Set([top.id]));
    const table = await ok(each, 'list', 'purchases', '--customer', top.id, '--limit', '1');
    expect(table).toContain(`1 of ${top.purchases} purchases`);
    expect(await ok(each, 'list', 'purchases', '--customer', 'nobody')).toMatch(/no purchases of customer 'nobody'/);
  });

  it('--json names every column of the table under the same name', async () => {
    const each = await shop(20);
    const [sku] = json<Array<{ sku: string }>>(await ok(each, 'list', 'products', '--json')).map((p) => p.sku);
    await ok(each, 'stock', 'count', '--sku', sku!, '--level', '900');
    await ok(each, 'topics', 'create');
    const commands: string[][] = [
      ['list', 'customers'],
      ['list', 'products'],
      ['list', 'purchases'],
      ['list', 'stock'],
      ['report', 'sales'],
      ['history', '--sku', sku!],
    ];
    // Read-only commands: run side by side.
    const outputs = await Promise.all(commands.map(async (args) => ({ args, table: await ok(each, ...args), text: await ok(each, ...args, '--json') })));
    for (const { args, table, text } of outputs) {
      const keys = tableKeys(table);
      const rows = json<Array<Record<string, unknown>>>(text);
      expect(rows.length, args.join(' ')).toBeGreaterThan(0);
      for (const row of rows) expect(Object.keys(row), args.join(' ')).toEqual(expect.arrayContaining(keys));
      for (const row of rows) expect(row, args.join(' ')).not.toHaveProperty('_id');
    }
    const described = json<{ partitions: Array<Record<string, unknown>> }>(await ok(each, 'topics', 'describe', '--json'));
    const keys = tableKeys(await ok(each, 'topics', 'describe'));
    for (const row of described.partitions) expect(Object.keys(row)).toEqual(expect.arrayContaining(keys));
    // Numbers are numbers, offsets included.
    for (const row of described.partitions) expect(typeof row.endOffset).toBe('number');
    const created = json<Array<Record<string, unknown>>>(await ok(each, 'topics', 'create', '--json'));
    for (const row of created) expect(Object.keys(row)).toEqual(expect.arrayContaining(tableKeys(await ok(each, 'topics', 'create'))));
    expect(created.every((row) => row.status === 'exists' && typeof row.partitions === 'number')).toBe(true);
  });

  it('make products --json counts products, and says how many events that was', async () => {
    const each = await world();
    const made = json<Record<string, unknown>>(await ok(each, 'make', 'products', '--count', '3', '--seed', '44', '--via', 'db', '--json'));
    expect(made).toMatchObject({ what: 'products', count: 3, duplicates: 0, events: { written: 6, duplicates: 0 }, stock: { store: each.config.inventory.defaultStore, quantity: 1000 } });
    const none = json<Record<string, unknown>>(await ok(each, 'make', 'products', '--count', '2', '--seed', '45', '--stock', '0', '--via', 'db', '--json'));
    expect(none).toMatchObject({ what: 'products', count: 2, events: { written: 2 } });
  });

  it('history is in event time order (ties in the order applied), counts are levels, --limit keeps the latest', async () => {
    const each = await world();
    const sink = dbSink(each.mongo, each.config.mongodb.db, projectionSettings(each.config));
    // Applied in this order; the sale is older than the goods (an import of yesterday's sales).
    await sink.write([createEvent('shop.stock.received.v1', { store: 'oslo', sku: 'SKU-T', quantity: 10 }, at('2026-03-02T10:00:00.000Z'))]);
    await sink.write([createEvent('shop.stock.sold.v1', { store: 'oslo', sku: 'SKU-T', quantity: 4 }, at('2026-03-01T10:00:00.000Z'))]);
    // Two changes with one time: applied order decides.
    await sink.write([createEvent('shop.stock.counted.v1', { store: 'oslo', sku: 'SKU-T', level: 5 }, at('2026-03-03T10:00:00.000Z'))]);
    await sink.write([createEvent('shop.stock.received.v1', { store: 'oslo', sku: 'SKU-T', quantity: 1 }, at('2026-03-03T10:00:00.000Z'))]);
    await sink.close();

    type Row = { time: string; type: string; change: number | null; level: number };
    const rows = json<Row[]>(await ok(each, 'history', '--sku', 'SKU-T', '--json'));
    expect(rows.map((row) => [row.time.slice(0, 10), row.type, row.change, row.level])).toEqual([
      ['2026-03-01', 'sale', -4, 6],
      ['2026-03-02', 'incoming', 10, 10],
      ['2026-03-03', 'count', null, 5],
      ['2026-03-03', 'incoming', 1, 6],
    ]);
    const latest = json<Row[]>(await ok(each, 'history', '--sku', 'SKU-T', '--limit', '2', '--json'));
    expect(latest.map((row) => [row.type, row.level])).toEqual([
      ['count', 5],
      ['incoming', 6],
    ]);
    const table = await ok(each, 'history', '--sku', 'SKU-T', '--limit', '2');
    expect(table).toMatch(/│ count +│ +=5 │ +5 │/);
    expect(table).toContain('latest 2 of 4 stock changes');
    expect(await ok(each, 'history', '--sku', 'SKU-T')).toContain('4 of 4 stock changes');
    const bad = await each.cli('history', '--sku', 'SKU-T', '--limit', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit/);
  });

  it('topics describe shows every topic shopctl uses, with lag only where the group reads', async () => {
    const each = await world();
    await ok(each, 'topics', 'create');
    const described = json<{ groupId: string; partitions: Array<{ topic: string; role: string; lag: number | null; committed: number | null }>; missing: string[] }>(
      await ok(each, 'topics', 'describe', '--json'),
    );
    const topics = each.config.kafka.topics;
    expect(new Set(described.partitions.map((p) => p.topic))).toEqual(new Set(Object.values(topics)));
    expect(described.missing).toEqual([]);
    for (const role of ['dlq', 'importErrors', 'alerts'] as const) {
      const rows = described.partitions.filter((p) => p.topic === topics[role]);
      expect(rows.length).toBe(each.config.kafka.partitions);
      expect(rows.every((p) => p.role === role && p.lag === null && p.committed === null)).toBe(true);
    }
    expect(described.partitions.filter((p) => p.topic === topics.inventory).every((p) => p.lag === 0)).toBe(true);
    const table = await ok(each, 'topics', 'describe');
    expect(table).toContain(topics.dlq);
    expect(table).toContain(topics.importErrors);
    expect(table).toContain(topics.alerts);
  });
});
