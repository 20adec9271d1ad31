// Proves the local stack does what shopctl relies on, with the plain kafkajs and mongodb
// clients: partitioned topics, keyed ordering, consumer groups with committed offsets, and the
// MongoDB operations the projection uses (including FerretDB's limits).
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { MongoServerError, type Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestMongo, testConfig, testKafka, uniqueName, waitFor, type TestMongo } from '../helpers/env.js';

describe('Kafka: topics, keyed producer, consumer group, committed offsets', () => {
  const config = testConfig();
  const topic = uniqueName('foundation.orders');
  const groupId = uniqueName('foundation-group');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    kafka = testKafka(config);
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates a topic with 3 partitions, produces by key, consumes it all in a group and commits', async () => {
    expect(await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] })).toBe(true);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics).toHaveLength(1);
    expect(metadata.topics[0]!.name).toBe(topic);
    expect(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);

    // 8 keys x 5 messages, sent one batch per round so each key's messages are in order.
    const keys = Array.from({ length: 8 }, (_, index) => `customer-${index}`);
    const rounds = 5;
    producer = kafka.producer();
    await producer.connect();
    for (let round = 0; round < rounds; round += 1) {
      const metadataPerPartition = await producer.send({
        topic,
        messages: keys.map((key) => ({ key, value: JSON.stringify({ key, round }) })),
      });
      for (const record of metadataPerPartition) expect(record.errorCode).toBe(0);
    }

    // Assertions stay outside the handler: a throw inside eachMessage makes kafkajs retry, not fail.
    const received: Array<{ messageKey: string | undefined; key: string; round: number; partition: number; offset: string }> = [];
    consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        const body = JSON.parse(message.value!.toString()) as { key: string; round: number };
        received.push({ ...body, messageKey: message.key?.toString(), partition, offset: message.offset });
        return Promise.resolve();
      },
    });
    await waitFor(() => Promise.resolve(received.length >= keys.length * rounds ? true : undefined), 60_000, 'all messages consumed');
    expect(received).toHaveLength(keys.length * rounds);
    expect(received.filter((message) => message.messageKey !== message.key)).toEqual([]);

    const partitionOfKey = new Map<string, Set<number>>();
    const receivedPerPartition = new Map<number, number>();
    for (const message of received) {
      const partitions = partitionOfKey.get(message.key) ?? new Set<number>();
      partitions.add(message.partition);
      partitionOfKey.set(message.key, partitions);
      receivedPerPartition.set(message.partition, (receivedPerPartition.get(message.partition) ?? 0) + 1);
    }
    // Every message of a key lands in one partition, and arrives in the order it was sent.
    for (const key of keys) {
      expect(partitionOfKey.get(key)?.size, key).toBe(1);
      expect(received.filter((message) => message.key === key).map((message) => message.round)).toEqual([0, 1, 2, 3, 4]);
    }
    // The keys are spread: more than one partition is used.
    expect(receivedPerPartition.size).toBeGreaterThan(1);

    // Commit "next offset to read" per partition, as a consumer does once its writes are safe.
    const lastOffset = new Map<number, number>();
    for (const message of received) {
      lastOffset.set(message.partition, Math.max(lastOffset.get(message.partition) ?? -1, Number(message.offset)));
    }
    await consumer.commitOffsets([...lastOffset].map(([partition, offset]) => ({ topic, partition, offset: String(offset + 1) })));

    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed?.topic).toBe(topic);
    const committedByPartition = Object.fromEntries(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
    const highWatermarks = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    for (const partition of [0, 1, 2]) {
      const count = receivedPerPartition.get(partition) ?? 0;
      expect(highWatermarks[partition], `high watermark of partition ${partition}`).toBe(count);
      // Kafka reports -1 for a partition the group has never committed.
      expect(committedByPartition[partition], `committed offset of partition ${partition}`).toBe(count === 0 ? -1 : count);
    }
  });
});

interface Customer {
  _id: string;
  name: string;
  country: string;
  email: string;
  purchases: number;
  tags: string[];
}

describe('MongoDB: the operations the projection relies on', () => {
  const config = testConfig();
  let mongo: TestMongo;
  let customers: Collection<Customer>;

  const customer = (id: number, country: string): Customer => ({
    _id: `c${id}`,
    name: `Customer ${id}`,
    country,
    email: `c${id}@example.test`,
    purchases: 0,
    tags: [],
  });

  beforeAll(async () => {
    mongo = await connectTestMongo(config);
    customers = mongo.db.collection<Customer>(uniqueName('customers'));
  });

  afterAll(async () => {
    await mongo?.drop();
  });

  it('insertMany and find with a filter', async () => {
    const result = await customers.insertMany([customer(1, 'PL'), customer(2, 'DE'), customer(3, 'PL'), customer(4, 'FR'), customer(5, 'PL')]);
    expect(result.insertedCount).toBe(5);
    const polish = await customers.find({ country: 'PL' }).sort({ _id: 1 }).toArray();
    expect(polish.map((c) => c._id)).toEqual(['c1', 'c3', 'c5']);
    expect(await customers.countDocuments({ country: { $in: ['DE', 'FR'] } })).toBe(2);
  });

  it('updateOne with $inc and $push', async () => {
    const first = await customers.updateOne({ _id: 'c2' }, { $inc: { purchases: 3 }, $push: { tags: 'vip' } });
    expect(first.matchedCount).toBe(1);
    expect(first.modifiedCount).toBe(1);
    await customers.updateOne({ _id: 'c2' }, { $inc: { purchases: 2 }, $push: { tags: 'newsletter' } });
    const updated = await customers.findOne({ _id: 'c2' });
    expect(updated?.purchases).toBe(5);
    expect(updated?.tags).toEqual(['vip', 'newsletter']);
    // A filter that matches nothing changes nothing.
    const missing = await customers.updateOne({ _id: 'nobody' }, { $inc: { purchases: 1 } });
    expect(missing.matchedCount).toBe(0);
  });

  it('bulkWrite with mixed insertOne, updateOne and deleteOne (ordered, small: FerretDB 1.x)', async () => {
    const result = await customers.bulkWrite(
      [
        { insertOne: { document: customer(6, 'IT') } },
        { insertOne: { document: customer(7, 'IT') } },
        { updateOne: { filter: { _id: 'c6' }, update: { $inc: { purchases: 1 } } } },
        { updateOne: { filter: { _id: 'c1' }, update: { $set: { country: 'CZ' } } } },
        { updateOne: { filter: { _id: 'c8' }, update: { $setOnInsert: customer(8, 'ES') }, upsert: true } },
        { deleteOne: { filter: { _id: 'c4' } } },
      ],
      { ordered: true },
    );
    expect(result.insertedCount).toBe(2);
    expect(result.matchedCount).toBe(2);
    expect(result.modifiedCount).toBe(2);
    expect(result.upsertedCount).toBe(1);
    expect(result.deletedCount).toBe(1);

    expect(await customers.countDocuments({})).toBe(7); // 5 + 2 inserted + 1 upserted - 1 deleted
    expect(await customers.findOne({ _id: 'c4' })).toBeNull();
    // Ordered: the update of c6 ran after its insert in the same command.
    expect((await customers.findOne({ _id: 'c6' }))?.purchases).toBe(1);
    expect((await customers.findOne({ _id: 'c1' }))?.country).toBe('CZ');
    expect((await customers.findOne({ _id: 'c8' }))?.country).toBe('ES');
  });

  it('a unique index rejects a duplicate with error code 11000', async () => {
    await customers.createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
    const indexes = await customers.indexes();
    expect(indexes.find((index) => index.name === 'email_unique')?.unique).toBe(true);

    const duplicate = { ...customer(99, 'PL'), email: 'c1@example.test' };
    const error: unknown = await customers.insertOne(duplicate).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(11000);
    expect(await customers.findOne({ _id: 'c99' })).toBeNull();
    // A different email is accepted.
    await customers.insertOne({ ...customer(99, 'PL'), email: 'fresh@example.test' });
    expect(await customers.countDocuments({ email: 'fresh@example.test' })).toBe(1);
  });
});
