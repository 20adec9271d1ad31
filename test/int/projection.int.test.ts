import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureIndexes } from '../../src/db/collections.js';
import { projectionOn } from '../../src/services/projection.js';
import type { Config } from '../../src/config/schema.js';
import { connectTestMongo, testConfig, uniqueName, type TestMongo } from '../helpers/env.js';
import { dump, projectUntilIdle, publishAll, scenario, type Scenario } from '../helpers/shop.js';

// One seeded scenario, projected through both write paths and through the failure modes of
// Kafka delivery, must always end in the same collections.
describe('projection: --via db and --via kafka are the same, effectively once', () => {
  let shop: Scenario;
  let reference: Record<string, unknown[]>;
  const opened: TestMongo[] = [];

  const database = async (config: Config): Promise<TestMongo> => {
    const mongo = await connectTestMongo(config);
    await ensureIndexes(mongo.db);
    opened.push(mongo);
    return mongo;
  };

  beforeAll(async () => {
    shop = scenario(4242);
    const config = testConfig();
    const mongo = await database(config);
    // The db path, in the order a user would run it.
    for (const events of [shop.customers, shop.products, shop.purchases]) {
      await projectionOn(mongo).apply(events.map((event) => ({ event })));
    }
    reference = await dump(mongo.db);
  });

  afterAll(async () => {
    for (const mongo of opened) await mongo.drop();
  });

  it('projects what it was given (sanity of the reference)', () => {
    expect(reference.customers).toHaveLength(20);
    expect(reference.products).toHaveLength(10);
    expect(reference.purchases).toHaveLength(300);
    // The journal: customers, products and goods received; each purchase is its own entry.
    expect(reference.events).toHaveLength(40);
    expect((reference.purchases as Array<{ stock?: { change: number } }>).every((purchase) => (purchase.stock?.change ?? 0) < 0)).toBe(true);
    // Sales are kept per store and SKU, on the stock documents.
    const sold = (reference.stock as Array<{ sold?: { quantity: number } }>).reduce((sum, s) => sum + (s.sold?.quantity ?? 0), 0);
    const bought = shop.purchases.reduce((sum, event) => sum + (event.data as { quantity: number }).quantity, 0);
    expect(sold).toBe(bought);
  });

  it('gives identical collections through Kafka (even with purchases published before their customers)', async () => {
    const config = testConfig();
    const mongo = await database(config);
    // Worst order for the consumer: references arrive before what they reference, so the
    // purchases go through the retry topic once before they apply.
    await publishAll(config, shop.purchases);
    await publishAll(config, [...shop.products, ...shop.customers]);
    const totals = await projectUntilIdle(config, mongo, { idleMs: 2500 });
    expect(totals.deadLettered).toBe(0);
    expect(await dump(mongo.db)).toEqual(reference);
  });

  it('changes nothing when the whole topic is replayed by a new group from the beginning', async () => {
    const config = testConfig();
    const mongo = await database(config);
    await publishAll(config, [...shop.customers, ...shop.products, ...shop.purchases]);
    const first = await projectUntilIdle(config, mongo);
    expect(first.applied).toBe(340);
    expect(await dump(mongo.db)).toEqual(reference);

    const replay = await projectUntilIdle(config, mongo, { groupId: uniqueName('replay'), fromBeginning: true });
    expect(replay.applied).toBe(0);
    // Purchases consumed before their customer went through the retry topic once; those copies
    // belong to the first group, a new group leaves them alone.
    expect(replay.duplicates).toBe(340);
    expect(await dump(mongo.db)).toEqual(reference);

    // The same group rewound to the beginning: everything again, its retries too, nothing changes.
    const rewound = await projectUntilIdle(config, mongo, { fromBeginning: true });
    expect(rewound.applied).toBe(0);
    expect(rewound.duplicates).toBe(340 + first.retried);
    expect(await dump(mongo.db)).toEqual(reference);
  });

  it('changes nothing when every event is produced twice', async () => {
    const config = testConfig();
    const mongo = await database(config);
    const all = [...shop.customers, ...shop.products, ...shop.purchases];
    await publishAll(config, all);
    await publishAll(config, all);
    const totals = await projectUntilIdle(config, mongo);
    expect(totals.applied).toBe(340);
    expect(totals.duplicates).toBe(340);
    expect(await dump(mongo.db)).toEqual(reference);
  });

  it('changes nothing when the db path is given the same events again', async () => {
    const config = testConfig();
    const mongo = await database(config);
    const all = [...shop.customers, ...shop.products, ...shop.purchases].map((event) => ({ event }));
    await projectionOn(mongo).apply(all);
    const again = await projectionOn(mongo).apply(all);
    expect(again.outcomes.every((outcome) => outcome.status === 'duplicate')).toBe(true);
    expect(await dump(mongo.db)).toEqual(reference);
  });
});
