import { describe, expect, it } from 'vitest';
import type { IntentInFlight, OutboxStore } from '../../src/db/outbox-store.js';
import { createEvent } from '../../src/domain/events.js';
import type { OutboxRecord } from '../../src/domain/projection-port.js';
import { ShopctlError } from '../../src/errors.js';
import { createRelay, type RelayMessage } from '../../src/services/relay.js';

// The relay over an outbox in memory: order, exactly once when nothing fails, and nothing of a
// write in flight or undone.

let n = 0;
const registered = (customerId: string) =>
  createEvent(
    'shop.customer.registered.v1',
    { customerId, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: { street: '1 Main St', city: 'London', postalCode: 'N1', country: 'UK' }, locale: 'en' },
    { id: `evt-${String(++n).padStart(4, '0')}`, time: '2026-01-01T00:00:00.000Z', source: 'test' },
  );

/** Records of `intents` writes, `each` events per write, ids in the writers' order. */
function records(intents: number, each: number): OutboxRecord[] {
  const list: OutboxRecord[] = [];
  for (let i = 0; i < intents; i += 1) {
    for (let k = 0; k < each; k += 1) {
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      list.push({ _id: `${at}.I${i}.${String(k).padStart(6, '0')}`, intent: `I${i}`, value: JSON.stringify(registered(`C${i}-${k}`)) });
    }
  }
  return list;
}

class MemoryOutbox implements OutboxStore {
  readonly records = new Map<string, OutboxRecord>();
  readonly heads = new Map<string, IntentInFlight>();
  /** Runs just before the heads are read (a writer acting between two reads of the relay). */
  beforeHeads: (() => void) | undefined;
  constructor(list: readonly OutboxRecord[]) {
    for (const record of list) this.records.set(record._id, record);
  }
  withRelayLease<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }
  oldest(limit: number) {
    return Promise.resolve([...this.records.values()].sort((a, b) => (a._id < b._id ? -1 : 1)).slice(0, limit).map(({ _id, intent }) => ({ _id, intent })));
  }
  fetch(ids: readonly string[]) {
    return Promise.resolve(ids.flatMap((id) => this.records.get(id) ?? []).sort((a, b) => (a._id < b._id ? -1 : 1)));
  }
  inFlight() {
    this.beforeHeads?.();
    return Promise.resolve([...this.heads.values()]);
  }
  remove(ids: readonly string[]) {
    return Promise.resolve(ids.filter((id) => this.records.delete(id)).length);
  }
  count() {
    return Promise.resolve(this.records.size);
  }
}

const idOf = (message: RelayMessage): string => (JSON.parse(String(message.message.value)) as { id: string }).id;
const eventIds = (list: readonly OutboxRecord[]): string[] => list.map((record) => (JSON.parse(record.value) as { id: string }).id);

function relayOver(store: MemoryOutbox, options: { batch: number; window?: number }) {
  const sent: string[] = [];
  const relay = createRelay(
    store,
    async (messages) => {
      // Kafka takes a while to acknowledge: reads ahead happen meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 2));
      sent.push(...messages.map(idOf));
    },
    options,
  );
  return { relay, sent, drain: () => relay.drain(() => false, () => undefined) };
}

describe('relay', () => {
  it('publishes every record once, oldest first, across batches and scans, then deletes it', async () => {
    const all = records(5, 3);
    const store = new MemoryOutbox(all);
    const { sent, drain } = relayOver(store, { batch: 2, window: 5 });
    expect(await drain()).toEqual({ blocked: null, empty: true });
    expect(sent).toEqual(eventIds(all));
    expect(store.records.size).toBe(0);
  });

  it('routes a record like the kafka path: its stream, its key, its value as written', () => {
    const [record] = records(1, 1);
    const store = new MemoryOutbox([record!]);
    const messages: RelayMessage[] = [];
    const relay = createRelay(store, (list) => Promise.resolve(void messages.push(...list)), { batch: 10 });
    return relay.drain(() => false, () => undefined).then(() => {
      expect(messages).toHaveLength(1);
      expect(messages[0]!.stream).toBe('customers');
      expect(messages[0]!.message.key).toBe('C0-0');
      expect(messages[0]!.message.value).toBe(record!.value);
    });
  });

  it('stops at the first record of a write in flight, and goes on once it is complete', async () => {
    const all = records(3, 2);
    const store = new MemoryOutbox(all);
    store.heads.set('I1', { _id: 'I1', at: '2026-01-01T00:00:01.000Z' });
    const { sent, drain } = relayOver(store, { batch: 10 });
    expect(await drain()).toEqual({ blocked: { _id: 'I1', at: '2026-01-01T00:00:01.000Z' }, empty: false });
    expect(sent).toEqual(eventIds(all.slice(0, 2)));
    expect(await drain()).toMatchObject({ blocked: { _id: 'I1' } });
    expect(sent).toHaveLength(2);
    store.heads.delete('I1');
    expect(await drain()).toEqual({ blocked: null, empty: true });
    expect(sent).toEqual(eventIds(all));
  });

  it('publishes nothing of a write undone between the read of its records and the read of the heads', async () => {
    // A writer that gave way removes its records, then its head (services/projection): a relay
    // that saw the records and then no head must not take that as "complete".
    const all = records(2, 2);
    const store = new MemoryOutbox(all);
    store.heads.set('I0', { _id: 'I0', at: '2026-01-01T00:00:00.000Z' });
    store.beforeHeads = () => {
      for (const record of all.filter((each) => each.intent === 'I0')) store.records.delete(record._id);
      store.heads.delete('I0');
      store.beforeHeads = undefined;
    };
    const { sent, drain } = relayOver(store, { batch: 10 });
    expect(await drain()).toEqual({ blocked: null, empty: true });
    expect(sent).toEqual(eventIds(all.slice(2)));
  });

  it('deletes nothing that Kafka did not acknowledge', async () => {
    const store = new MemoryOutbox(records(2, 2));
    const relay = createRelay(store, () => Promise.reject(new Error('broker gone')), { batch: 10 });
    await expect(relay.drain(() => false, () => undefined)).rejects.toThrow('broker gone');
    expect(store.records.size).toBe(4);
  });

  it('stops at a record that is no event, naming it, before publishing it or anything after it', async () => {
    const all = records(2, 1);
    const broken: OutboxRecord = { _id: `${all[0]!._id}x`, intent: 'I0', value: '{"not":"an event"}' };
    const store = new MemoryOutbox([...all, broken]);
    const { sent, relay } = relayOver(store, { batch: 1 });
    const error = await relay.drain(() => false, () => undefined).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ShopctlError);
    expect((error as ShopctlError).code).toBe('OUTBOX_RECORD_INVALID');
    expect((error as ShopctlError).message).toContain(broken._id);
    expect(sent).toEqual(eventIds(all.slice(0, 1)));
    expect(store.records.has(broken._id)).toBe(true);
  });

  it('after a stop, finishes the batch in hand and publishes no more', async () => {
    const store = new MemoryOutbox(records(4, 1));
    const { relay, sent } = relayOver(store, { batch: 1 });
    let batches = 0;
    expect(await relay.drain(() => batches === 2, () => (batches += 1))).toEqual({ blocked: null, empty: false });
    expect(sent).toHaveLength(2);
    expect(store.records.size).toBe(2);
  });
});
