import { describe, expect, it } from 'vitest';
import type { CustomerDoc, ProductDoc } from '../../src/domain/documents.js';
import { createEvent, type ShopEvent } from '../../src/domain/events.js';
import { projectBatch, refsOf, replayAccepted, Snapshot, type ProjectionInput } from '../../src/domain/projector.js';

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
function given(docs: { customers?: CustomerDoc[]; products?: ProductDoc[] }, inputs: ProjectionInput[]) {
  const snapshot = new Snapshot();
  const stored = new Map<string, CustomerDoc | ProductDoc>();
  for (const doc of docs.customers ?? []) stored.set(Snapshot.key('customers', doc._id), doc);
  for (const doc of docs.products ?? []) stored.set(Snapshot.key('products', doc._id), doc);
  for (const { event } of inputs) {
    for (const ref of refsOf(event)) {
      if (!snapshot.has(ref.collection, ref.id)) snapshot.load(ref.collection, ref.id, (stored.get(Snapshot.key(ref.collection, ref.id)) as never) ?? null);
    }
  }
  const outcomes = projectBatch(inputs, snapshot);
  return { outcomes, snapshot, changes: snapshot.changes(), created: snapshot.creations() };
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

  it('folds many purchases of one product into one write with the sums', () => {
    const base = given({}, [at(registered('c1')), at(added('SKU-1'))]);
    const customer = base.changes[0]!.doc as CustomerDoc;
    const product = base.changes[1]!.doc as ProductDoc;
    const { outcomes, changes, created } = given({ customers: [customer], products: [product] }, [
      at(bought('c1', 'SKU-1', 2)),
      at(bought('c1', 'SKU-1', 3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'applied']);
    expect(changes).toHaveLength(1);
    const next = changes[0]!.doc as ProductDoc;
    expect(next.sold).toEqual({ quantity: 5, revenue: { amount: 1250, currency: 'EUR' } });
    expect(next._rev).toBe(3);
    expect(changes[0]!.expectedRev).toBe(1);
    expect(created.map((c) => [c.collection, c.doc.quantity, c.doc.total.amount])).toEqual([
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

  it('recognises a redelivered event by the offset its documents recorded', () => {
    const first = given({}, [at(added('SKU-1'), 10)]);
    const product = first.changes[0]!.doc as ProductDoc;
    expect(product._pos).toEqual({ 'shop_inventory-0': 10 });
    const again = given({ products: [product] }, [at(added('SKU-1'), 10), at(added('SKU-1', 300), 11)]);
    expect(again.outcomes.map((o) => o.status)).toEqual(['duplicate', 'applied']);
    expect((again.changes[0]!.doc as ProductDoc).price.amount).toBe(300);
  });

  it('skips events whose ids are excluded as duplicates from elsewhere', () => {
    const event = added('SKU-1');
    const snapshot = new Snapshot();
    snapshot.load('products', 'SKU-1', null);
    expect(projectBatch([at(event)], snapshot, new Set([event.id]))).toEqual([{ status: 'duplicate' }]);
    expect(snapshot.changes()).toEqual([]);
  });

  it('keeps a re-registration of a customer as an update of the profile, not a second customer', () => {
    const first = given({}, [at(registered('c1'))]);
    const customer = first.changes[0]!.doc as CustomerDoc;
    const again = given({ customers: [customer] }, [at(registered('c1'))]);
    expect(again.changes[0]!.doc._rev).toBe(2);
    expect((again.changes[0]!.doc as CustomerDoc).registeredAt).toBe(customer.registeredAt);
  });

  it('replays accepted events onto a document reloaded after losing a race, without deciding again', () => {
    const product = given({}, [at(added('SKU-1'))]).changes[0]!.doc as ProductDoc;
    const customer = given({}, [at(registered('c1'))]).changes[0]!.doc as CustomerDoc;
    const inputs = [at(bought('c1', 'SKU-1', 4))];
    const { outcomes } = given({ customers: [customer], products: [product] }, inputs);
    // Meanwhile another writer sold 1 more: the stored revision moved on.
    const raced: ProductDoc = { ...product, _rev: product._rev + 1, sold: { quantity: 1, revenue: { amount: 250, currency: 'EUR' } } };
    const fresh = new Snapshot();
    fresh.load('products', 'SKU-1', raced);
    replayAccepted(inputs, outcomes, fresh, new Set([Snapshot.key('products', 'SKU-1')]));
    const [change] = fresh.changes();
    expect(change!.expectedRev).toBe(raced._rev);
    expect((change!.doc as ProductDoc).sold.quantity).toBe(5);
  });
});
