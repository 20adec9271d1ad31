import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { ensureIndexes } from '../../src/db/collections.js';
import { applyEvents } from '../../src/db/projection-store.js';
import { createEvent } from '../../src/domain/events.js';
import { encodeEvent } from '../../src/kafka/codec.js';
import { connectTestMongo, testConfig, testKafka, type TestMongo } from '../helpers/env.js';
import { garbageMessage, projectUntilIdle, scenario, sendRaw } from '../helpers/shop.js';

interface Letter {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

async function readTopic(config: Config, topic: string, expected: number): Promise<Letter[]> {
  const kafka = testKafka(config);
  const consumer = kafka.consumer({ groupId: `${config.kafka.groupId}-reader` });
  const letters: Letter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        letters.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
        if (letters.length >= expected) resolve();
        return Promise.resolve();
      },
    });
  });
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${letters.length} of ${expected} letters`)), 30_000))]);
  await consumer.disconnect();
  return letters;
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
    await applyEvents(mongo, [...shop.customers, ...shop.products].map((event) => ({ event })));
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
    await sendRaw(config, config.kafka.topics.inventory, [garbageMessage, wrongShape, badData, encodeEvent(unknown), ...shop.purchases.slice(2).map(encodeEvent)]);

    const totals = await projectUntilIdle(config, mongo, { idleMs: 2000 });
    expect(totals.applied).toBe(3); // the three good purchases behind the bad ones
    expect(totals.retried).toBe(2); // the unknown reference, twice (maxRetries 2)
    expect(totals.deadLettered).toBe(4);
    expect(await mongo.db.collection('purchases').countDocuments()).toBe(3);

    const letters = await readTopic(config, config.kafka.topics.dlq, 4);
    const byReason = new Map(letters.map((letter) => [letter.headers['x-dlq-reason'], letter]));
    expect([...byReason.keys()].sort()).toEqual(['invalid_data', 'invalid_envelope', 'invalid_json', 'unknown_reference']);

    const garbage = byReason.get('invalid_json')!;
    expect(Buffer.from(garbage.value, 'utf8').length).toBeGreaterThan(0);
    expect(garbage.headers.origin).toBe('fuzz'); // original headers kept
    expect(garbage.headers['x-original-topic']).toBe(config.kafka.topics.inventory);
    expect(Date.parse(garbage.headers['x-dlq-time']!)).not.toBeNaN();

    expect(byReason.get('invalid_envelope')!.value).toBe(JSON.stringify({ hello: 'world' }));
    expect(byReason.get('invalid_data')!.headers['x-dlq-message']).toMatch(/quantity/);

    const unknownLetter = byReason.get('unknown_reference')!;
    expect(JSON.parse(unknownLetter.value)).toEqual(unknown);
    expect(unknownLetter.headers['x-dlq-message']).toMatch(/no-such-customer/);
    expect(unknownLetter.headers['x-retry-attempt']).toBe('2');
    // Where it came from is the original topic, not the retry topic it last passed through.
    expect(unknownLetter.headers['x-original-topic']).toBe(config.kafka.topics.inventory);
  });
});
