import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import type { Config } from '../../src/config/schema.js';
import { ensureIndexes } from '../../src/db/collections.js';
import { projectionOn } from '../../src/services/projection.js';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { createKafka } from '../../src/kafka/client.js';
import { encodeEvent } from '../../src/kafka/codec.js';
import { deadLetterMessage } from '../../src/kafka/dead-letter.js';
import { ensureTopics, withAdmin } from '../../src/kafka/topics.js';
import { runCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, testKafka, uniqueName, waitFor, type TestMongo } from '../helpers/env.js';
import { garbageMessage, projectUntilIdle, sendRaw } from '../helpers/shop.js';

interface ListJson {
  topics: Array<{ source: string; topic: string; exists: boolean }>;
  total: number;
  matched: number;
  byReason: Array<{ source: string; reason: string; count: number; letters: number }>;
  letters: Array<{
    id: string;
    source: string;
    reason: string;
    time: string;
    eventId: string | null;
    file: string | null;
    line: number | null;
    message: string;
    letters: number;
    letterIds: string[];
  }>;
}

interface RedriveJson {
  dryRun: boolean;
  selected: number;
  selectedLetters: number;
  redriven: Array<{ id: string; reason: string; to: string; eventId: string | null; letters: number }>;
  skipped: Array<{ id: string; why: string }>;
  byReason: Record<string, number>;
  byTopic: Record<string, number>;
  willFailAgain: Record<string, number>;
}

const context = (id: string) => ({ id, time: '2026-01-01T00:00:00.000Z', source: 'test' });

// A purchase of a customer and a product that do not exist yet: dead-lettered as unknown_reference.
const latePurchase = (id: string): ShopEvent =>
  createEvent(
    'shop.purchase.made.v1',
    { customerId: 'cust-late', sku: 'SKU-LATE', store: 'online', quantity: 2, unitPrice: { amount: 250, currency: 'EUR' } },
    context(id),
  );

// `shopctl errors …` as a user runs it, against letters the projector really dead-lettered.
describe('shopctl errors: list, show and redrive dead letters', () => {
  let config: Config;
  let file: string;
  let mongo: TestMongo;
  const cli = (...args: string[]) => runCli(['--config', file, ...args], {}, { timeoutMs: 60_000 });
  const json = <T>(text: string): T => JSON.parse(text) as T;
  const purchases = [latePurchase('evt-late-1'), latePurchase('evt-late-2')];

  beforeAll(async () => {
    config = testConfig({ consume: { maxRetries: 1, retryBackoffMs: 100 } });
    const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-errors-'));
    file = path.join(dir, 'shopctl.yaml');
    await writeFile(file, stringify(config));
    mongo = await connectTestMongo(config);
    await ensureIndexes(mongo.db);
    await withAdmin(createKafka(config), config, (admin) => ensureTopics(admin, config));

    await sendRaw(config, config.kafka.topics.inventory, [
      garbageMessage,
      { key: 'online:SKU-Y', value: JSON.stringify({ hello: 'world' }) },
      ...purchases.map(encodeEvent),
    ]);
    await sendRaw(config, config.kafka.topics.importErrors, [
      {
        key: 'stock.csv:7',
        value: JSON.stringify({ file: 'stock.csv', line: 7, raw: 'x,sale,,1,A,-2', reasons: ['invalid transaction_id', 'value must be a positive integer'] }),
        headers: { 'x-dlq-reason': 'invalid_row', 'x-dlq-time': new Date().toISOString() },
      },
      {
        // A reason that is retriable for an event, but not for a CSV row.
        key: 'stock.csv:9',
        value: JSON.stringify({ file: 'stock.csv', line: 9, raw: 'y,sale,online,SKU-NOPE,1', reasons: ["unknown product 'SKU-NOPE'"] }),
        headers: { 'x-dlq-reason': 'unknown_reference', 'x-dlq-time': new Date().toISOString() },
      },
    ]);

    const totals = await projectUntilIdle(config, mongo, { idleMs: 2000 });
    expect(totals.deadLettered).toBe(4); // garbage, wrong shape, two unknown references (after one retry each)
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('lists the letters grouped by reason with counts, newest first, and filters by reason and time', async () => {
    const listed = await cli('errors', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const all = json<ListJson>(listed.stdout);
    // Letters, not events: Kafka delivers at least once, and a chunk the consumer gets again
    // (e.g. right after the broker started) sends its letters again. Events are counted exactly.
    expect(all.total).toBeGreaterThanOrEqual(4);
    expect(Object.fromEntries(all.byReason.map((group) => [group.reason, group.count]))).toEqual({
      invalid_json: 1,
      invalid_envelope: 1,
      unknown_reference: 2,
    });
    expect(all.letters).toHaveLength(4);
    expect([...all.letters].sort((a, b) => b.time.localeCompare(a.time))).toEqual(all.letters);
    for (const letter of all.letters) expect(letter.id).toMatch(/^\d+:\d+$/);

    const unknown = json<ListJson>((await cli('errors', 'list', '--reason', 'unknown_reference', '--json')).stdout);
    expect(unknown.matched).toBe(2);
    expect(unknown.byReason).toEqual([expect.objectContaining({ reason: 'unknown_reference', count: 2 })]);
    expect(unknown.letters.map((letter) => letter.eventId).sort()).toEqual(['evt-late-1', 'evt-late-2']);

    const limited = json<ListJson>((await cli('errors', 'list', '--limit', '1', '--json')).stdout);
    expect(limited.letters).toHaveLength(1);
    expect(limited.byReason.reduce((sum, group) => sum + group.count, 0)).toBe(4); // counts cover all

    expect(json<ListJson>((await cli('errors', 'list', '--since', '1h', '--json')).stdout).matched).toBe(4);
    expect(json<ListJson>((await cli('errors', 'list', '--since', '2999-01-01', '--json')).stdout).matched).toBe(0);
    const bad = await cli('errors', 'list', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since: 'yesterday'/);

    const table = await cli('errors', 'list');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/unknown_reference\s*│\s*2/);
    expect(table.stdout).toMatch(new RegExp(`4 of 4 rejected events \\(${all.total} letters\\)`));
  });

  it('lists import errors and both topics, and reads a topic that does not exist as empty', async () => {
    const imports = json<ListJson>((await cli('errors', 'list', '--topic', 'import-errors', '--json')).stdout);
    expect(imports.total).toBe(2);
    const row7 = imports.letters.find((letter) => letter.line === 7);
    expect(row7).toMatchObject({ source: 'import-errors', reason: 'invalid_row', file: 'stock.csv', line: 7 });
    expect(row7!.message).toMatch(/positive integer/);

    const both = json<ListJson>((await cli('errors', 'list', '--topic', 'all', '--json')).stdout);
    expect(both.total).toBe(imports.total + json<ListJson>((await cli('errors', 'list', '--json')).stdout).total);
    expect(both.byReason.map((group) => `${group.source}:${group.reason}`).sort()).toEqual([
      'dlq:invalid_envelope',
      'dlq:invalid_json',
      'dlq:unknown_reference',
      'import-errors:invalid_row',
      'import-errors:unknown_reference',
    ]);
    // The same reason, retriable for events only: a CSV row is fixed in its file.
    const table = await cli('errors', 'list', '--topic', 'all');
    expect(table.stdout).toMatch(/dlq\s*│\s*unknown_reference\s*│\s*2\s*│.*│\s*yes/);
    expect(table.stdout).toMatch(/import-errors\s*│\s*unknown_reference\s*│\s*1\s*│.*│\s*no: fix the file/);

    const shown = await cli('errors', 'show', `import-errors/${row7!.id}`);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/stock\.csv:7/);

    const emptyFile = path.join(path.dirname(file), 'empty.yaml');
    await writeFile(emptyFile, stringify(testConfig()));
    const empty = await runCli(['--config', emptyFile, 'errors', 'list', '--json']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(json<ListJson>(empty.stdout)).toMatchObject({ total: 0, topics: [expect.objectContaining({ exists: false })] });
  });

  it('shows the whole record of a letter, and fails clearly on an unknown id', async () => {
    const unknown = json<ListJson>((await cli('errors', 'list', '--reason', 'unknown_reference', '--json')).stdout);
    const letter = unknown.letters.find((l) => l.eventId === 'evt-late-1')!;
    const shown = await cli('errors', 'show', letter.id, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const record = json<{ reason: string; headers: Record<string, string>; key: string; value: { format: string; json: unknown }; from: string }>(shown.stdout);
    expect(record.reason).toBe('unknown_reference');
    expect(record.value).toMatchObject({ format: 'json', json: purchases[0] });
    expect(record.key).toBe('online:SKU-LATE');
    expect(record.headers['x-original-topic']).toBe(config.kafka.topics.inventory);
    expect(record.headers['x-retry-attempt']).toBe('1');
    expect(record.from).toContain(config.kafka.topics.inventory);

    const all = json<ListJson>((await cli('errors', 'list', '--reason', 'invalid_json', '--json')).stdout);
    const garbage = await cli('errors', 'show', all.letters[0]!.id);
    expect(garbage.code, garbage.stderr).toBe(0);
    expect(garbage.stdout).toMatch(/hex:\s+de ad be ef/);
    expect(garbage.stdout).toMatch(/origin\s*│\s*fuzz/);

    const missing = await cli('errors', 'show', '0:99999');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No letter '0:99999'/);
    const malformed = await cli('errors', 'show', 'twelve');
    expect(malformed.code).toBe(2);
  });

  it('re-drives letters once their cause is fixed, and not twice by accident', async () => {
    const refused = await cli('errors', 'redrive');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--reason R, one or more ids, or --all/);

    const dry = json<RedriveJson>((await cli('errors', 'redrive', '--reason', 'unknown_reference', '--dry-run', '--json')).stdout);
    expect(dry).toMatchObject({ dryRun: true, selected: 2 });
    expect(dry.redriven).toHaveLength(2);
    expect(await mongo.db.collection('redriven').countDocuments()).toBe(0);

    // The fix: the customer, the product and its stock now exist.
    await projectionOn(mongo).apply([
      createEvent(
        'shop.customer.registered.v1',
        {
          customerId: 'cust-late',
          firstName: 'Ada',
          lastName: 'Late',
          email: 'ada@example.com',
          address: { street: '1 Main St', city: 'Ghent', postalCode: '9000', country: 'BE' },
          locale: 'en',
        },
        context('evt-fix-customer'),
      ),
      createEvent('shop.product.added.v1', { sku: 'SKU-LATE', name: 'Late Lamp', category: 'Home', price: { amount: 250, currency: 'EUR' } }, context('evt-fix-product')),
      createEvent('shop.stock.received.v1', { store: 'online', sku: 'SKU-LATE', quantity: 10 }, context('evt-fix-stock')),
    ].map((event) => ({ event })));

    const sent = await cli('errors', 'redrive', '--reason', 'unknown_reference', '--json');
    expect(sent.code, sent.stderr).toBe(0);
    const report = json<RedriveJson>(sent.stdout);
    expect(report).toMatchObject({ dryRun: false, selected: 2, byReason: { unknown_reference: 2 }, byTopic: { [config.kafka.topics.inventory]: 2 }, willFailAgain: {} });

    const totals = await projectUntilIdle(config, mongo, { idleMs: 2000 });
    expect(totals.applied).toBe(2);
    expect(totals.deadLettered).toBe(0);
    expect((await mongo.db.collection('purchases').find({ customerId: 'cust-late' }).toArray()).map((p) => p._id).sort()).toEqual([
      'evt-late-1',
      'evt-late-2',
    ]);

    const again = await cli('errors', 'redrive', '--reason', 'unknown_reference', '--json');
    expect(again.code, again.stderr).toBe(0);
    const second = json<RedriveJson>(again.stdout);
    expect(second.redriven).toHaveLength(0);
    expect(second.skipped.map((item) => item.why)).toEqual(['already_redriven', 'already_redriven']);
    const human = await cli('errors', 'redrive', '--reason', 'unknown_reference');
    expect(human.stdout).toMatch(/re-drove 0 of 2/);
    expect(human.stderr).toMatch(/2 already re-driven .*--force/);

    const forced = json<RedriveJson>((await cli('errors', 'redrive', '--reason', 'unknown_reference', '--force', '--dry-run', '--json')).stdout);
    expect(forced.redriven).toHaveLength(2);
  });

  it('warns that a letter whose reason does not clear up will fail again, and refuses ids it does not know', async () => {
    const garbage = json<ListJson>((await cli('errors', 'list', '--reason', 'invalid_json', '--json')).stdout).letters[0]!;
    const dry = await cli('errors', 'redrive', garbage.id, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would re-drive 1 of 1/);
    expect(dry.stderr).toMatch(/'invalid_json' will be dead-lettered again unless the producer is fixed/);

    const unknown = await cli('errors', 'redrive', garbage.id, '7:123456');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/'7:123456'/);
    const mixed = await cli('errors', 'redrive', garbage.id, '--reason', 'invalid_json');
    expect(mixed.code).toBe(2);
    const importRow = await cli('errors', 'redrive', 'import-errors/0:0');
    expect(importRow.code).toBe(2);
    expect(importRow.stderr).toMatch(/import error/);
  });
});

// Kafka cannot take a letter back: an event the consumer dead-letters again (after a kill before
// its commit, or a replay) has two letters. `errors list` counts it once, `redrive` sends it once.
describe('shopctl errors: an event dead-lettered twice is one event', () => {
  let config: Config;
  let file: string;
  let mongo: TestMongo;
  const cli = (...args: string[]) => runCli(['--config', file, ...args], {}, { timeoutMs: 60_000 });
  const json = <T>(text: string): T => JSON.parse(text) as T;
  const twice = latePurchase('evt-twice');
  const once = latePurchase('evt-once');

  // The record the consumer read, at `offset` of partition 0 of the inventory topic.
  const consumed = (event: ShopEvent, offset: string): KafkaMessage => {
    const message = encodeEvent(event);
    const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, Buffer.from(String(value))]));
    return { key: Buffer.from(String(message.key)), value: Buffer.from(String(message.value)), headers, offset, timestamp: String(Date.now()), attributes: 0 };
  };
  // The letter the consumer sends for it, as projector-consumer does.
  const letterOf = (event: ShopEvent, offset: string) =>
    deadLetterMessage({ topic: config.kafka.topics.inventory, partition: 0, message: consumed(event, offset), reason: 'unknown_reference', detail: "unknown customer 'cust-late'" }, new Date());

  /** How many records of `topic` (read to the end it has now) carry event `id`. */
  async function copiesOf(topic: string, id: string): Promise<number> {
    const admin = testKafka(config).admin();
    await admin.connect();
    let end: Array<{ high: string }>;
    try {
      end = await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect();
    }
    const expected = end.reduce((sum, p) => sum + Number(p.high), 0);
    const consumer = testKafka(config).consumer({ groupId: uniqueName('errors-read') });
    const ids: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          ids.push(message.headers?.ce_id?.toString() ?? '');
          return Promise.resolve();
        },
      });
      await waitFor(() => (ids.length >= expected ? true : undefined), 30_000, `${expected} records of ${topic}`);
    } finally {
      await consumer.disconnect();
    }
    return ids.filter((each) => each === id).length;
  }

  beforeAll(async () => {
    config = testConfig();
    const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-errors-twice-'));
    file = path.join(dir, 'shopctl.yaml');
    await writeFile(file, stringify(config));
    mongo = await connectTestMongo(config);
    await withAdmin(createKafka(config), config, (admin) => ensureTopics(admin, config));
    // evt-twice at offset 3, dead-lettered, then again after a restart; evt-once in between.
    await sendRaw(config, config.kafka.topics.dlq, [letterOf(twice, '3')]);
    await sendRaw(config, config.kafka.topics.dlq, [letterOf(once, '4')]);
    await sendRaw(config, config.kafka.topics.dlq, [letterOf(twice, '3')]);
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('lists it once, with letters: 2, and counts events per reason', async () => {
    const listed = await cli('errors', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const all = json<ListJson & { matchedLetters: number }>(listed.stdout);
    expect(all).toMatchObject({ total: 3, matched: 2, matchedLetters: 3 });
    expect(all.byReason).toHaveLength(1);
    expect(all.byReason[0]).toMatchObject({ reason: 'unknown_reference', count: 2, letters: 3 });
    const byEvent = Object.fromEntries(all.letters.map((letter) => [letter.eventId ?? '', letter]));
    expect(Object.keys(byEvent).sort()).toEqual(['evt-once', 'evt-twice']);
    expect(byEvent['evt-twice']).toMatchObject({ letters: 2, id: '0:2', letterIds: ['0:2', '0:0'] });
    expect(byEvent['evt-once']).toMatchObject({ letters: 1, letterIds: ['0:1'] });

    const table = await cli('errors', 'list');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/unknown_reference\s*│\s*2\s*│\s*3\s*│/);
    expect(table.stdout.match(/evt-twice/g)).toHaveLength(1);
    expect(table.stdout).toMatch(/2 of 2 rejected events \(3 letters\)/);
  });

  it('re-drives it once, records both letters, and sends it again only after a new letter', async () => {
    const dry = json<RedriveJson>((await cli('errors', 'redrive', '--all', '--dry-run', '--json')).stdout);
    expect(dry).toMatchObject({ selected: 2, selectedLetters: 3 });
    expect(dry.redriven.map((item) => [item.eventId, item.letters]).sort()).toEqual([
      ['evt-once', 1],
      ['evt-twice', 2],
    ]);
    // Both letters of evt-twice, by id: still one event.
    const byIds = json<RedriveJson>((await cli('errors', 'redrive', '0:0', '0:2', '--dry-run', '--json')).stdout);
    expect(byIds).toMatchObject({ selected: 1, selectedLetters: 2, redriven: [expect.objectContaining({ eventId: 'evt-twice', letters: 2 })] });

    const sent = await cli('errors', 'redrive', '--reason', 'unknown_reference', '--json');
    expect(sent.code, sent.stderr).toBe(0);
    expect(json<RedriveJson>(sent.stdout)).toMatchObject({ selected: 2, byTopic: { [config.kafka.topics.inventory]: 2 } });
    expect(await copiesOf(config.kafka.topics.inventory, 'evt-twice')).toBe(1);
    expect(await mongo.db.collection('redriven').countDocuments()).toBe(3);

    const again = json<RedriveJson>((await cli('errors', 'redrive', '--all', '--json')).stdout);
    expect(again.redriven).toEqual([]);
    expect(again.skipped.map((item) => item.why)).toEqual(['already_redriven', 'already_redriven']);

    // It failed again: a third letter, never re-driven, makes it eligible once more.
    await sendRaw(config, config.kafka.topics.dlq, [letterOf(twice, '3')]);
    const third = json<RedriveJson>((await cli('errors', 'redrive', '--all', '--json')).stdout);
    expect(third).toMatchObject({ selected: 2, selectedLetters: 4, redriven: [expect.objectContaining({ eventId: 'evt-twice', letters: 3 })] });
    expect(await copiesOf(config.kafka.topics.inventory, 'evt-twice')).toBe(2);
  });
});
