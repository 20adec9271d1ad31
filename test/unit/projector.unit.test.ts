import { describe, expect, it } from 'vitest';
import type { CustomerDoc, ProductDoc, StockDoc } from '../../src/domain/documents.js';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { docKey, entriesOf, fingerprintOf, projectBatch, refsOf, Snapshot, type ProjectionInput } from '../../src/domain/projector.js';

let n = 0;
const ctx = () => ({ id: `evt-${++n}`, time: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`, source: 'test' });

const registered = (customerId: string) =>
  createEvent(
    'shop.customer.registered.v1',
    {
      customerId,
      firstName: 'Ada',
      lastName: 'Lovelace',
      email: 'ada@example.com',
      address: { street: '1 Main St', city: 'London', postalCode: 'N1', country: 'UK' },
      locale: 'en',
    },
    ctx(),
  );
const added = (sku: string, amount = 250) =>
  createEvent('shop.product.added.v1', { sku, name: 'Widget', category: 'Tools', price: { amount, currency: 'EUR' } }, ctx());
const bought = (customerId: string, sku: string, quantity: number, amount = 250) =>
  createEvent('shop.purchase.made.v1', { customerId, sku, store: 'online', quantity, unitPrice: { amount, currency: 'EUR' } }, ctx());

// Given the stored documents, when the events are projected, then: outcomes and documents.
const received = (sku: string, quantity: number, store = 'online') => createEvent('shop.stock.received.v1', { store, sku, quantity }, ctx());
const sold = (sku: string, quantity: number, store = 'online') => createEvent('shop.stock.sold.v1', { store, sku, quantity }, ctx());
const counted = (sku: string, level: number, store = 'online') => createEvent('shop.stock.counted.v1', { store, sku, level }, ctx());
const stockOf = (sku: string, level: number, store = 'online'): StockDoc => ({ _id: `${store}:${sku}`, _rev: 1, store, sku, level, updatedAt: '2026-01-01T00:00:00.000Z' });

function given(
  docs: { customers?: CustomerDoc[]; products?: ProductDoc[]; stock?: StockDoc[] },
  inputs: ProjectionInput[],
  journaled: ReadonlyMap<string, string | null> = new Map(),
) {
  const snapshot = new Snapshot();
  const stored = new Map<string, CustomerDoc | ProductDoc | StockDoc>();
  for (const doc of docs.customers ?? []) stored.set(docKey({ collection: 'customers', id: doc._id }), doc);
  for (const doc of docs.products ?? []) stored.set(docKey({ collection: 'products', id: doc._id }), doc);
  for (const doc of docs.stock ?? []) stored.set(docKey({ collection: 'stock', id: doc._id }), doc);
  for (const { event } of inputs) {
    for (const ref of refsOf(event)) {
      if (!snapshot.has(ref.collection, ref.id)) snapshot.load(ref.collection, ref.id, (stored.get(docKey(ref)) as never) ?? null);
    }
  }
  const outcomes = projectBatch(inputs, snapshot, journaled);
  const entries = entriesOf(inputs, outcomes, '2026-01-02T00:00:00.000Z', 'intent-1');
  return { outcomes, snapshot, changes: snapshot.changes(), created: entries.filter((entry) => entry.collection === 'purchases'), entries };
}

const at = (event: ShopEvent, offset?: number): ProjectionInput =>
  offset === undefined ? { event } : { event, position: { key: 'shop_inventory-0', offset } };

describe('projector', () => {
  it('registers a customer and adds a product as new documents', () => {
    const { outcomes, changes } = given({}, [at(registered('c1')), at(added('SKU-1'))]);
    expect(outcomes).toEqual([{ status: 'applied' }, { status: 'applied' }]);
    expect(changes.map((c) => [c.collection, c.doc._id, c.doc._rev, c.expectedRev])).toEqual([
      ['customers', 'c1', 1, 0],
      ['products', 'SKU-1', 1, 0],
    ]);
  });

  it('folds many purchases of one product at one store into one write of its stock document, with the sales', () => {
    const base = given({}, [at(registered('c1')), at(added('SKU-1'))]);
    const customer = base.changes[0]!.doc as CustomerDoc;
    const product = base.changes[1]!.doc as ProductDoc;
    const { outcomes, changes, created } = given({ customers: [customer], products: [product], stock: [stockOf('SKU-1', 10)] }, [
      at(bought('c1', 'SKU-1', 2)),
      at(bought('c1', 'SKU-1', 3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'applied']);
    // A purchase writes its stock document and the SKU's position (in one intent): the product is read, never written.
    expect(changes.map((c) => c.collection)).toEqual(['stock', 'positions']);
    const next = changes[0]!.doc as StockDoc;
    expect(next.level).toBe(5);
    expect(next.sold).toEqual({ quantity: 5, revenue: { amount: 1250, currency: 'EUR' } });
    expect(next._rev).toBe(3);
    expect(changes[0]!.expectedRev).toBe(1);
    expect(created.map((c) => [c.collection, c.doc.quantity, (c.doc as { total: { amount: number } }).total.amount])).toEqual([
      ['purchases', 2, 500],
      ['purchases', 3, 750],
    ]);
  });

  it('rejects a purchase of an unknown customer or product and changes nothing', () => {
    const { outcomes, changes, created } = given({}, [at(bought('ghost', 'SKU-404', 1))]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: 'unknown_reference', message: "unknown customer 'ghost' and product 'SKU-404'" },
    ]);
    expect(changes).toEqual([]);
    expect(created).toEqual([]);
  });

  it('applies the same event twice in one batch only once', () => {
    const event = registered('c1');
    const { outcomes, changes } = given({}, [at(event), at(event)]);
    expect(outcomes).toEqual([{ status: 'applied' }, { status: 'duplicate' }]);
    expect(changes[0]!.doc._rev).toBe(1);
  });

  it('recognises an event the journal holds as a duplicate, at any position', () => {
    const first = added('SKU-1');
    const product = given({}, [at(first, 10)]).changes[0]!.doc as ProductDoc;
    const update = added('SKU-1', 300);
    const again = given({ products: [product] }, [at(first, 10), at(update, 11)], new Map([[first.id, fingerprintOf(first)]]));
    expect(again.outcomes.map((o) => o.status)).toEqual(['duplicate', 'applied']);
    expect((again.changes[0]!.doc as ProductDoc).price.amount).toBe(300);
    expect(again.entries.map((entry) => entry.doc._id)).toEqual([update.id]);
  });

  it('skips events the journal holds without a fingerprint (journaled before fingerprints) as duplicates', () => {
    const event = added('SKU-1');
    const snapshot = new Snapshot();
    snapshot.load('products', 'SKU-1', null);
    expect(projectBatch([at(event)], snapshot, new Map([[event.id, null]]))).toEqual([{ status: 'duplicate' }]);
    expect(snapshot.changes()).toEqual([]);
  });

  it('refuses an id applied before with other content, and applies nothing of it', () => {
    const original = added('SKU-1', 250);
    const reused = { ...added('SKU-2', 999), id: original.id };
    const { outcomes, changes, entries } = given({}, [at(reused)], new Map([[original.id, fingerprintOf(original)]]));
    expect(outcomes).toEqual([{ status: 'rejected', reason: 'id_conflict', message: expect.stringContaining(original.id) as string }]);
    expect(changes).toEqual([]);
    expect(entries).toEqual([]);
  });

  it('takes the same id twice in one batch as a duplicate when equal, a conflict when not', () => {
    const event = received('SKU-7', 2);
    const other = { ...received('SKU-7', 5), id: event.id };
    const { outcomes, changes } = given({}, [at(event), at(event), at(other)]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.status))).toEqual(['applied', 'duplicate', 'id_conflict']);
    expect((changes[0]!.doc as StockDoc).level).toBe(2);
  });

  it('fingerprints content, not time or source', () => {
    const event = received('SKU-8', 2);
    expect(fingerprintOf({ ...event, time: '2030-01-01T00:00:00.000Z', source: 'elsewhere' })).toBe(fingerprintOf(event));
    expect(fingerprintOf({ ...event, data: { ...event.data, quantity: 3 } })).not.toBe(fingerprintOf(event));
  });

  it('a duplicate is recognised before the stock rule: no refusal for an applied purchase when stock is short now', () => {
    const customer = given({}, [at(registered('c9'))]).changes[0]!.doc as CustomerDoc;
    const product = given({}, [at(added('SKU-9'))]).changes[0]!.doc as ProductDoc;
    const purchase = bought('c9', 'SKU-9', 5);
    const { outcomes, changes } = given({ customers: [customer], products: [product], stock: [stockOf('SKU-9', 0)] }, [at(purchase)], new Map([[purchase.id, fingerprintOf(purchase)]]));
    expect(outcomes).toEqual([{ status: 'duplicate' }]);
    expect(changes).toEqual([]);
  });

  it('keeps a re-registration of a customer as an update of the profile, not a second customer', () => {
    const first = given({}, [at(registered('c1'))]);
    const customer = first.changes[0]!.doc as CustomerDoc;
    const again = given({ customers: [customer] }, [at(registered('c1'))]);
    expect(again.changes[0]!.doc._rev).toBe(2);
    expect((again.changes[0]!.doc as CustomerDoc).registeredAt).toBe(customer.registeredAt);
  });

  it('journals each applied event once, a purchase as its own entry, with its fingerprint and intent', () => {
    const { entries } = given({ stock: [stockOf('SKU-6', 3)] }, [at(received('SKU-6', 1), 4), at(sold('SKU-6', 9), 5)]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ collection: 'journal', doc: { type: 'shop.stock.received.v1', pos: 'shop_inventory-0@4', intent: 'intent-1', stock: { change: 1, level: 4 } } });
  });

  describe('stock', () => {
    it('never goes below zero: a sale before the goods arrived is rejected, after them applied', () => {
      const early = given({}, [at(sold('SKU-9', 3))]);
      expect(early.outcomes).toEqual([
        { status: 'rejected', reason: 'insufficient_stock', message: "store 'online', SKU 'SKU-9': requested 3, available 0" },
      ]);
      expect(early.changes).toEqual([]);
      const later = given({}, [at(received('SKU-9', 5)), at(sold('SKU-9', 3)), at(sold('SKU-9', 3))]);
      expect(later.outcomes.map((o) => o.status)).toEqual(['applied', 'applied', 'rejected']);
      expect((later.changes[0]!.doc as StockDoc).level).toBe(2);
    });

    it('a count sets the absolute level and the journal effect records each change and the level after it', () => {
      const { outcomes } = given({ stock: [stockOf('SKU-2', 7)] }, [at(counted('SKU-2', 20)), at(sold('SKU-2', 4)), at(received('SKU-2', 1))]);
      expect(outcomes).toEqual([
        { status: 'applied', stock: { store: 'online', sku: 'SKU-2', change: 20, level: 20 } },
        { status: 'applied', stock: { store: 'online', sku: 'SKU-2', change: -4, level: 16 } },
        { status: 'applied', stock: { store: 'online', sku: 'SKU-2', change: 1, level: 17 } },
      ]);
    });

    it('keeps stores apart', () => {
      const { outcomes, changes } = given({ stock: [stockOf('SKU-3', 5, 'berlin')] }, [at(sold('SKU-3', 2, 'berlin')), at(sold('SKU-3', 2, 'paris'))]);
      expect(outcomes.map((o) => o.status)).toEqual(['applied', 'rejected']);
      expect(changes.map((c) => `${c.collection}/${c.doc._id}`)).toEqual(['stock/berlin:SKU-3', 'positions/SKU-3']);
    });

    it('a purchase takes stock from its store and is refused when there is not enough', () => {
      const customer = given({}, [at(registered('c1'))]).changes[0]!.doc as CustomerDoc;
      const product = given({}, [at(added('SKU-4'))]).changes[0]!.doc as ProductDoc;
      const { outcomes } = given({ customers: [customer], products: [product], stock: [stockOf('SKU-4', 3)] }, [
        at(bought('c1', 'SKU-4', 2)),
        at(bought('c1', 'SKU-4', 2)),
      ]);
      expect(outcomes[0]).toEqual({ status: 'applied', stock: { store: 'online', sku: 'SKU-4', change: -2, level: 1 } });
      expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: 'insufficient_stock' });
    });

    it('the same stock event twice changes the level once', () => {
      const event = received('SKU-5', 4);
      const { outcomes, changes } = given({}, [at(event, 3), at(event, 3)]);
      expect(outcomes.map((o) => o.status)).toEqual(['applied', 'duplicate']);
      expect((changes[0]!.doc as StockDoc).level).toBe(4);
    });
  });
});
