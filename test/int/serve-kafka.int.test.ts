import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/env.js';
import { call, get, openEvents, post, servers, type ErrorBody, type Served } from '../helpers/serve.js';
import { worlds, type World } from '../helpers/worlds.js';

// `shopctl serve --via kafka`: writes are published (202) and applied by `shopctl consume`, or by
// the server itself with --consume, which then streams what it projects. The same calls through
// --via db and --via kafka end in the same stock. The built binary, the local stack, a world each.

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface StockRow {
  store: string;
  sku: string;
  onHand: number;
  pending: number;
  available: number;
  status: string;
}
interface Reservation {
  id: string;
  status: string;
  changed?: boolean;
  quantity: number;
  expiresAt: string;
}

const { world, cleanUp } = worlds('serve-kafka');
const { serve, stopAll } = servers();

afterAll(async () => {
  await stopAll();
  await cleanUp();
});

/** A world with `products` products (1,000 units each at the default store) and `customers` customers, in MongoDB. */
async function shop(products = 2, customers = 2): Promise<{ each: World; skus: string[]; customerIds: string[] }> {
  const each = await world();
  for (const args of [
    ['make', 'products', '--count', String(products), '--seed', '71', '--via', 'db'],
    ['make', 'customers', '--count', String(customers), '--seed', '72', '--via', 'db'],
  ]) {
    const made = await each.cli(...args);
    expect(made.code, made.stderr).toBe(0);
  }
  const ids = async (name: string) => (await each.mongo.db.collection<{ _id: string }>(name).find({}).sort({ _id: 1 }).toArray()).map((doc) => doc._id);
  return { each, skus: await ids('products'), customerIds: await ids('customers') };
}

async function consume(each: World): Promise<{ applied: number; deadLettered: number }> {
  const consumed = await each.cli('consume', '--until-idle', '2', '--json');
  expect(consumed.code, consumed.stderr).toBe(0);
  return JSON.parse(consumed.stdout) as { applied: number; deadLettered: number };
}

const stockRows = async (url: string, sku: string) => (await get<Page<StockRow>>(url, `/stock?sku=${sku}`)).body.items;

describe('serve --via kafka', () => {
  it('publishes writes (202 published) that `shopctl consume` applies; a reservation is `requested` until then, then confirmed', async () => {
    const { each, skus, customerIds } = await shop();
    const server = await serve(each, ['--via', 'kafka']);
    expect(server.banner).toMatch(/\(writes --via kafka\)$/);
    const { url } = server;
    const [sku] = skus as [string];

    const received = await post(url, '/stock/receive', { sku, quantity: 10 });
    expect(received.status, received.text).toBe(202);
    expect(received.body).toMatchObject({ status: 'published', via: 'kafka', store: 'online', sku });
    const bought = await post(url, '/purchases', { customer: customerIds[0], product: sku, quantity: 4 });
    expect(bought.status, bought.text).toBe(202);
    expect(bought.body).toMatchObject({ status: 'published', via: 'kafka', quantity: 4 });
    const form = await call(url, 'POST', '/inventory', { urlencoded: { productID: skus[1]!, availableQuantity: '33' } });
    expect(form.status, form.text).toBe(202);
    // What the database can tell now is still checked now.
    const nobody = await post<ErrorBody>(url, '/purchases', { customer: 'nobody', product: sku });
    expect(nobody.status).toBe(422);
    expect(nobody.body.error.code).toBe('unknown_reference');

    const made = await post<Reservation>(url, '/reservation', { customer: customerIds[0], sku, quantity: 3, id: 'k-order-1' });
    expect(made.status, made.text).toBe(202);
    expect(made.headers.get('location')).toBe('/reservation/k-order-1');
    expect(made.body).toMatchObject({ id: 'k-order-1', status: 'requested', changed: true, via: 'kafka' });
    const waiting = await get<Reservation>(url, '/reservation/k-order-1');
    expect(waiting.status).toBe(200);
    expect(waiting.body).toMatchObject({ id: 'k-order-1', status: 'requested', quantity: 3, expiresAt: made.body.expiresAt });
    // Nothing applied yet: the level is what `make products` left.
    expect((await stockRows(url, sku))[0]).toMatchObject({ onHand: 1000, pending: 0 });

    const totals = await consume(each);
    // The receive, the purchase, the count and the request (the store's decision, read back, is a duplicate).
    expect(totals).toMatchObject({ applied: 4, deadLettered: 0 });
    const decided = await get<Reservation>(url, '/reservation/k-order-1');
    expect(decided.body).toMatchObject({ status: 'confirmed', quantity: 3, expiresAt: made.body.expiresAt });
    expect((await stockRows(url, sku))[0]).toMatchObject({ onHand: 1006, pending: 3, available: 1003 });
    expect((await get<Array<{ productID: string; availableQuantity: number }>>(url, '/inventory')).body).toContainEqual({ productID: skus[1], availableQuantity: 33 });

    // Cancelling through Kafka: 202 at once, cancelled once consumed, and the hold released.
    const cancel = await call<Reservation>(url, 'DELETE', '/reservation/k-order-1');
    expect(cancel.status, cancel.text).toBe(202);
    expect(cancel.body).toMatchObject({ id: 'k-order-1', via: 'kafka' });
    expect((await consume(each)).deadLettered).toBe(0);
    expect((await get<Reservation>(url, '/reservation/k-order-1')).body.status).toBe('cancelled');
    expect((await stockRows(url, sku))[0]).toMatchObject({ onHand: 1006, pending: 0 });
    const closed = await call<ErrorBody>(url, 'DELETE', '/reservation/k-order-1');
    expect(closed.status).toBe(409);
    expect(closed.body.error.code).toBe('reservation_closed');
    expect(await server.stop()).toEqual({ code: 0, signal: null });
  });

  it('a reservation id sent again before it is consumed: the same request is answered from the first, another one is 409', async () => {
    const { each, skus } = await shop();
    const server = await serve(each, ['--via', 'kafka']);
    const { url } = server;
    const request = { customer: 'c-1', sku: skus[0], quantity: 2, id: 'k-again' };
    const first = await post<Reservation>(url, '/reservation', request);
    expect(first.status).toBe(202);
    // A client retrying (a timeout on its side): the same request, the same answer.
    const retried = await post<Reservation>(url, '/reservation', request);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id: 'k-again', status: 'requested', changed: false, quantity: 2, expiresAt: first.body.expiresAt });
    // Another request under the same id: a conflict, as --via db says it.
    const other = await post<ErrorBody>(url, '/reservation', { ...request, quantity: 5 });
    expect(other.status, other.text).toBe(409);
    expect(other.body.error.code).toBe('id_conflict');
    expect((await get<Reservation>(url, '/reservation/k-again')).body).toMatchObject({ status: 'requested', quantity: 2 });

    const totals = await consume(each);
    expect(totals.deadLettered).toBe(0);
    expect((await get<Reservation>(url, '/reservation/k-again')).body).toMatchObject({ status: 'confirmed', quantity: 2, expiresAt: first.body.expiresAt });
    expect((await stockRows(url, skus[0]!))[0]).toMatchObject({ pending: 2 });
    expect(await server.stop()).toEqual({ code: 0, signal: null });
  });

  it('with --consume it applies what anyone publishes and streams it: `shopctl stock receive --via kafka` shows up as applied', async () => {
    const { each } = await shop(1, 1);
    const server = await serve(each, ['--via', 'kafka', '--consume']);
    await waitFor(() => (server.stdout().includes(`projecting Kafka events as group '${each.config.kafka.groupId}'`) ? true : undefined), 30_000, 'the consumer to start');
    const stream = await openEvents(server.url);
    await stream.next((message) => message.event === 'hello', 5_000);

    const sent = await each.cli('stock', 'receive', '--store', 'depot', '--sku', 'SKU-FROM-CLI', '--quantity', '8', '--via', 'kafka');
    expect(sent.code, sent.stderr).toBe(0);
    // Joining the consumer group takes a few seconds the first time: generous.
    const message = await stream.next((each) => each.event === 'applied' && each.data.includes('SKU-FROM-CLI'), 45_000);
    const applied = JSON.parse(message.data) as { byType: Record<string, number>; events: Array<{ type: string; data: unknown }> };
    expect(applied.byType).toEqual({ 'shop.stock.received.v1': 1 });
    expect(applied.events[0]).toMatchObject({ type: 'shop.stock.received.v1', data: { store: 'depot', sku: 'SKU-FROM-CLI', quantity: 8 } });
    expect((await stockRows(server.url, 'SKU-FROM-CLI'))[0]).toMatchObject({ store: 'depot', onHand: 8 });

    // Its own writes through Kafka come back the same way, once projected.
    const own = await post(server.url, '/stock/sell', { store: 'depot', sku: 'SKU-FROM-CLI', quantity: 3 });
    expect(own.status).toBe(202);
    const sold = await stream.next((each) => each.event === 'applied' && each.data.includes('shop.stock.sold.v1'), 15_000);
    expect(JSON.parse(sold.data)).toMatchObject({ count: 1, events: [{ data: { store: 'depot', sku: 'SKU-FROM-CLI', quantity: 3 } }] });
    stream.close();
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(server.stdout()).toMatch(/projected: applied 2, duplicates skipped 0, retried later 0, dead-lettered 0\nstopped\n$/);
  });

  it('the same calls through --via db and through --via kafka --consume end in the same stock', async () => {
    const db = await shop(2, 2);
    const kafka = await shop(2, 2);
    // Seeded: both worlds have the same products and customers.
    expect(kafka.skus).toEqual(db.skus);
    expect(kafka.customerIds).toEqual(db.customerIds);
    const [a, b] = db.skus as [string, string];
    const customer = db.customerIds[0]!;
    const calls = async (served: Served): Promise<void> => {
      const { url } = served;
      const expectOk = async (answer: Promise<{ status: number; text: string }>) => {
        const { status, text } = await answer;
        expect([200, 202], text).toContain(status);
      };
      await expectOk(post(url, '/stock/count', { sku: a, level: 50 }));
      await expectOk(post(url, '/stock/receive', { sku: a, quantity: 20 }));
      await expectOk(post(url, '/stock/sell', { sku: a, quantity: 5 }));
      await expectOk(post(url, '/purchases', { customer, product: a, quantity: 3 }));
      await expectOk(post(url, '/reservation', { customer, sku: a, quantity: 4, id: 'same-1' }));
      await expectOk(post(url, '/reservation', { customer, sku: a, quantity: 6, id: 'same-2' }));
      await expectOk(call(url, 'DELETE', '/reservation/same-2'));
      await expectOk(post(url, '/stock/count', { store: 'berlin', sku: b, level: 9 }));
      await expectOk(call(url, 'POST', '/inventory', { urlencoded: { productID: b, availableQuantity: '12' } }));
      await expectOk(post(url, '/stock/receive', { store: 'berlin', sku: b, quantity: 1 }));
    };
    const expected = [
      { store: 'berlin', sku: b, onHand: 10, pending: 0, available: 10 },
      { store: 'online', sku: a, onHand: 62, pending: 4, available: 58 },
      { store: 'online', sku: b, onHand: 12, pending: 0, available: 12 },
    ];
    const levels = async (url: string) =>
      (await get<Page<StockRow>>(url, '/stock?limit=1000')).body.items.map(({ store, sku, onHand, pending, available }) => ({ store, sku, onHand, pending, available }));

    const dbServer = await serve(db.each);
    await calls(dbServer);
    expect(await levels(dbServer.url)).toEqual(expected);

    const kafkaServer = await serve(kafka.each, ['--via', 'kafka', '--consume']);
    await calls(kafkaServer);
    // Applied as the server's consumer gets to them: the stock once every reservation is decided.
    await waitFor(
      async () => {
        const [one, two] = await Promise.all(['same-1', 'same-2'].map(async (id) => (await get<Reservation>(kafkaServer.url, `/reservation/${id}`)).body.status));
        return one === 'confirmed' && two === 'cancelled' && JSON.stringify(await levels(kafkaServer.url)) === JSON.stringify(expected) ? true : undefined;
      },
      60_000,
      'the kafka world to reach the same stock',
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await levels(kafkaServer.url))}`);
    });
    expect(await levels(kafkaServer.url)).toEqual(await levels(dbServer.url));
    for (const id of ['same-1', 'same-2']) {
      const [x, y] = await Promise.all([dbServer, kafkaServer].map(async (served) => (await get<Reservation>(served.url, `/reservation/${id}`)).body));
      expect({ status: x!.status, quantity: x!.quantity }).toEqual({ status: y!.status, quantity: y!.quantity });
    }
    const sales = await Promise.all([dbServer, kafkaServer].map(async (served) => (await get(served.url, '/sales')).body));
    expect(sales[1]).toEqual(sales[0]);

    for (const served of [dbServer, kafkaServer]) expect(await served.stop()).toEqual({ code: 0, signal: null });
    expect(kafkaServer.stdout()).toMatch(/dead-lettered 0\nstopped\n$/);
  });
});
