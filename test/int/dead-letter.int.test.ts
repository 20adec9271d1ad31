import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { ensureIndexes } from '../../src/db/collections.js';
import { projectionOn } from '../../src/services/projection.js';
import type { Message } from 'kafkajs';
import { createEvent, validateEvent } from '../../src/domain/events.js';
import { encodeEvent } from '../../src/kafka/codec.js';
import { connectTestMongo, testConfig, testKafka, uniqueName, waitFor, type TestMongo } from '../helpers/env.js';
import { garbageMessage, projectUntilIdle, scenario, sendRaw } from '../helpers/shop.js';

interface Letter {
  key: string | null;
  /** The value's bytes as they are in the topic. */
  value: Buffer;
  headers: Record<string, string>;
}

async function readTopic(config: Config, topic: string, expected: number): Promise<Letter[]> {
  const kafka = testKafka(config);
  const consumer = kafka.consumer({ groupId: uniqueName(`${config.kafka.groupId}-reader`) });
  const letters: Letter[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        letters.push({
          key: message.key?.toString() ?? null,
          value: message.value ?? Buffer.alloc(0),
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
        return Promise.resolve();
      },
    });
    await waitFor(() => (letters.length >= expected ? true : undefined), 30_000, `${expected} letters in ${topic} (have ${letters.length})`);
  } finally {
    await consumer.disconnect();
  }
  return letters;
}

/** A message's headers as text, as they were sent. */
const sentHeaders = (message: Message): Record<string, string> =>
  Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
const bytesOf = (value: Message['value']): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(String(value ?? ''), 'utf8'));
const dlqHeaderNames = ['x-dlq-message', 'x-dlq-reason', 'x-dlq-time', 'x-original-offset', 'x-original-partition', 'x-original-topic'];

/** The letter carries the message exactly: key, value bytes and every header it was sent with. */
function expectOriginal(letter: Letter, sent: Message, topic: string): void {
  expect(letter.key).toBe(sent.key === null || sent.key === undefined ? null : String(sent.key));
  expect(letter.value.equals(bytesOf(sent.value)), `value ${letter.value.toString('hex')} is not ${bytesOf(sent.value).toString('hex')}`).toBe(true);
  const original = sentHeaders(sent);
  for (const [name, value] of Object.entries(original)) expect(letter.headers[name], `header ${name}`).toBe(value);
  // Nothing else but the dead-letter headers (and the retry ones, where it went through the retry topic).
  const added = Object.keys(letter.headers).filter((name) => !(name in original) && !name.startsWith('x-retry-'));
  expect(added.sort()).toEqual(dlqHeaderNames);
  expect(letter.headers['x-original-topic']).toBe(topic);
  expect(Date.parse(letter.headers['x-dlq-time']!)).not.toBeNaN();
}

describe('dead letters: bad events go to the dead-letter topic and the consumer goes on', () => {
  let config: Config;
  let mongo: TestMongo;

  beforeAll(async () => {
    config = testConfig({ consume: { maxRetries: 2, retryBackoffMs: 100 } });
    mongo = await connectTestMongo(config);
    await ensureIndexes(mongo.db);
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('dead-letters garbage, wrong shapes and unknown references with the original bytes and a reason', async () => {
    const shop = scenario(7, { customers: 3, products: 2, purchases: 5 });
    await projectionOn(mongo).apply([...shop.customers, ...shop.products].map((event) => ({ event })));
    const unknown = createEvent(
      'shop.purchase.made.v1',
      { customerId: 'no-such-customer', sku: 'SKU-NOPE', store: 'online', quantity: 1, unitPrice: { amount: 100, currency: 'EUR' } },
      { id: 'evt-unknown-ref', time: '2026-01-01T00:00:00.000Z', source: 'test' },
    );
    const wrongShape = { ...encodeEvent(shop.purchases[0]!), value: JSON.stringify({ hello: 'world' }) };
    const badData = {
      ...encodeEvent(shop.purchases[1]!),
      value: JSON.stringify({ ...shop.purchases[1]!, data: { ...shop.purchases[1]!.data, quantity: -3 } }),
    };
    const unknownMessage = encodeEvent(unknown);
    await sendRaw(config, config.kafka.topics.inventory, [garbageMessage, wrongShape, badData, unknownMessage, ...shop.purchases.slice(2).map(encodeEvent)]);

    const totals = await projectUntilIdle(config, mongo, { idleMs: 2000 });
    expect(totals.applied).toBe(3); // the three good purchases behind the bad ones
    expect(totals.retried).toBe(2); // the unknown reference, twice (maxRetries 2)
    expect(totals.deadLettered).toBe(4);
    expect(await mongo.db.collection('purchases').countDocuments()).toBe(3);

    const letters = await readTopic(config, config.kafka.topics.dlq, 4);
    const byReason = new Map(letters.map((letter) => [letter.headers['x-dlq-reason'], letter]));
    expect([...byReason.keys()].sort()).toEqual(['invalid_data', 'invalid_envelope', 'invalid_json', 'unknown_reference']);

    const inventory = config.kafka.topics.inventory;
    expectOriginal(byReason.get('invalid_json')!, garbageMessage, inventory);
    expect(byReason.get('invalid_json')!.value).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef])); // not UTF-8: kept as bytes
    expectOriginal(byReason.get('invalid_envelope')!, wrongShape, inventory);
    expectOriginal(byReason.get('invalid_data')!, badData, inventory);
    expect(byReason.get('invalid_data')!.headers['x-dlq-message']).toMatch(/quantity/);

    const unknownLetter = byReason.get('unknown_reference')!;
    expectOriginal(unknownLetter, unknownMessage, inventory);
    expect(JSON.parse(unknownLetter.value.toString('utf8'))).toEqual(unknown);
    expect(unknownLetter.headers['x-dlq-message']).toMatch(/no-such-customer/);
    expect(unknownLetter.headers['x-retry-attempt']).toBe('2');
    // Where it came from is the original topic, not the retry topic it last passed through.
    expect(unknownLetter.headers['x-original-topic']).toBe(config.kafka.topics.inventory);
    expect(unknownLetter.headers['x-original-partition']).toMatch(/^\d+$/);
  });
});

describe('dead letters: an event of a type nobody knows', () => {
  let config: Config;
  let mongo: TestMongo;

  beforeAll(async () => {
    config = testConfig({ consume: { maxRetries: 1, retryBackoffMs: 100 } });
    mongo = await connectTestMongo(config);
    await ensureIndexes(mongo.db);
  });
  afterAll(async () => {
    await mongo.drop();
  });

  it('dead-letters a well-formed envelope with an unknown type as unknown_type, with the original bytes, and goes on', async () => {
    const shop = scenario(11, { customers: 2, products: 2, purchases: 3 });
    await projectionOn(mongo).apply([...shop.customers, ...shop.products].map((event) => ({ event })));
    // A valid envelope (id, source, time, subject, data) from a producer newer than this consumer.
    const gift = { specversion: '1.0', id: 'evt-gift-1', type: 'shop.gift.wrapped.v1', source: 'test', time: '2026-01-01T00:00:00.000Z', subject: 'stock/online/SKU-1', data: { sku: 'SKU-1' } };
    const giftMessage: Message = { key: 'online:SKU-1', value: JSON.stringify(gift), headers: { 'content-type': 'application/cloudevents+json; charset=utf-8', ce_id: gift.id, ce_type: gift.type } };
    expect(validateEvent(gift)).toMatchObject({ ok: false, reason: 'unknown_type' }); // the envelope itself is fine
    await sendRaw(config, config.kafka.topics.inventory, [giftMessage, ...shop.purchases.map(encodeEvent)]);

    const totals = await projectUntilIdle(config, mongo, { idleMs: 2000 });
    expect(totals).toMatchObject({ applied: 3, deadLettered: 1, retried: 0 });
    expect(await mongo.db.collection('purchases').countDocuments()).toBe(3);

    const [letter, ...more] = await readTopic(config, config.kafka.topics.dlq, 1);
    expect(more).toEqual([]);
    expect(letter!.headers['x-dlq-reason']).toBe('unknown_type');
    expect(letter!.headers['x-dlq-message']).toMatch(/shop\.gift\.wrapped\.v1/);
    expectOriginal(letter!, giftMessage, config.kafka.topics.inventory);
  });
});
