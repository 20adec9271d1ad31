import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createEvent, validateEvent } from '../../src/domain/events.js';
import { decodeEvent, encodeEvent, positionKey } from '../../src/kafka/codec.js';
import { groupErrorOf } from '../../src/kafka/projector-consumer.js';
import { backoffFor, canRetry, isForGroup, retryMessage } from '../../src/kafka/retry.js';

const purchase = createEvent(
  'shop.purchase.made.v1',
  { customerId: 'c1', sku: 'SKU-1', store: 'online', quantity: 2, unitPrice: { amount: 150, currency: 'EUR' } },
  { id: 'e1', time: '2026-01-01T00:00:00.000Z', source: 'test' },
);

describe('codec', () => {
  it('round-trips an event, keyed by store:sku so one stock level stays on one partition', () => {
    const message = encodeEvent(purchase);
    expect(message.key).toBe('online:SKU-1');
    expect(message.headers).toMatchObject({ ce_id: 'e1', ce_type: 'shop.purchase.made.v1' });
    expect(decodeEvent(Buffer.from(message.value as string))).toEqual({ ok: true, event: purchase });
  });

  it('names what is wrong with bad input', () => {
    expect(decodeEvent(Buffer.from([0xff, 0x00]))).toMatchObject({ ok: false, reason: 'invalid_json' });
    expect(decodeEvent(null)).toMatchObject({ ok: false, reason: 'invalid_json' });
    expect(decodeEvent(Buffer.from('{"a":1}'))).toMatchObject({ ok: false, reason: 'invalid_envelope' });
    expect(decodeEvent(Buffer.from(JSON.stringify({ ...purchase, type: 'shop.nope.v9' })))).toMatchObject({ ok: false, reason: 'unknown_type' });
    const negative = decodeEvent(Buffer.from(JSON.stringify({ ...purchase, data: { ...purchase.data, quantity: -1 } })));
    expect(negative).toMatchObject({ ok: false, reason: 'invalid_data' });
    expect(!negative.ok && negative.message).toMatch(/quantity/);
    // Operators are data, never accepted as identifiers.
    const injected = decodeEvent(Buffer.from(JSON.stringify({ ...purchase, data: { ...purchase.data, sku: { $ne: null } } })));
    expect(injected).toMatchObject({ ok: false, reason: 'invalid_data' });
    const dollar = decodeEvent(Buffer.from(JSON.stringify({ ...purchase, data: { ...purchase.data, customerId: '$where' } })));
    expect(dollar).toMatchObject({ ok: false, reason: 'invalid_data' });
  });

  it('makes offsets storable as document keys', () => {
    expect(positionKey('shop.inventory', 2)).toBe('shop_inventory-2');
  });
});

describe('retries', () => {
  const policy = { maxRetries: 3, backoffMs: 1000 };
  it('backs off exponentially and stops after the configured attempts', () => {
    expect([1, 2, 3].map((attempt) => backoffFor(policy, attempt))).toEqual([1000, 2000, 4000]);
    const original = { key: Buffer.from('online:SKU-1'), value: Buffer.from('{}'), headers: {}, offset: '41', timestamp: '0', attributes: 0 };
    const first = retryMessage({ topic: 'shop.inventory', partition: 1, message: original, reason: 'unknown_reference', detail: 'x' }, policy, 5000, 'g1');
    expect(isForGroup({ ...original, headers: first.headers as Record<string, string> }, 'g1')).toBe(true);
    expect(isForGroup({ ...original, headers: first.headers as Record<string, string> }, 'g2')).toBe(false);
    expect(first.headers).toMatchObject({ 'x-retry-attempt': '1', 'x-retry-not-before': '6000', 'x-original-topic': 'shop.inventory', 'x-original-offset': '41' });
    const asReceived = { ...original, headers: first.headers as Record<string, string>, offset: '3' };
    expect(canRetry(asReceived, 'unknown_reference', policy)).toBe(true);
    expect(canRetry({ ...original, headers: { 'x-retry-attempt': '3' } }, 'unknown_reference', policy)).toBe(false);
    expect(canRetry(original, 'invalid_data', policy)).toBe(false);
    const second = retryMessage({ topic: 'shop.retry', partition: 0, message: asReceived, reason: 'unknown_reference', detail: 'x' }, policy, 7000, 'g1');
    expect(second.headers).toMatchObject({ 'x-retry-attempt': '2', 'x-retry-not-before': '9000', 'x-original-topic': 'shop.inventory' });
  });
});

describe('group errors from a commit', () => {
  const protocolError = (type: string, code: number) => new KafkaJSProtocolError({ message: `broker says ${type}`, type, code, retriable: true } as never);
  // What kafkajs' retrier throws when it gives up (src/retry/index.js); its typings omit the cause.
  const NonRetriable = KafkaJSNonRetriableError as unknown as new (error: Error, options: { cause: Error }) => Error;
  const giveUp = (error: Error) => new NonRetriable(error, { cause: error });

  it('unwraps the error kafkajs gives up with, when the group moved on, so that its runner rejoins', () => {
    const inner = protocolError('UNKNOWN_MEMBER_ID', 25);
    const wrapped = giveUp(inner);
    expect((wrapped as unknown as { type?: string }).type).toBeUndefined(); // what the runner sees without the unwrap
    expect(groupErrorOf(wrapped)).toBe(inner);
    const rebalance = protocolError('REBALANCE_IN_PROGRESS', 27);
    expect(groupErrorOf(giveUp(rebalance))).toBe(rebalance);
  });

  it('leaves any other error as it was', () => {
    const other = protocolError('TOPIC_AUTHORIZATION_FAILED', 29);
    const wrapped = giveUp(other);
    expect(groupErrorOf(wrapped)).toBe(wrapped);
    const plain = new Error('boom');
    expect(groupErrorOf(plain)).toBe(plain);
    expect(groupErrorOf('text')).toBe('text');
  });
});

describe('event versions', () => {
  it('reads an older version through its upcaster as the current one', () => {
    // A made-up v0 of goods received, whose data named the quantity `qty`.
    const v0 = { specversion: '1.0', id: 'e-1', type: 'shop.stock.received.v0', source: 'old', time: '2026-01-01T00:00:00.000Z', subject: 'stock/oslo/SKU-1', data: { store: 'oslo', sku: 'SKU-1', qty: 4 } };
    const upgrades = {
      'shop.stock.received.v0': (envelope: typeof v0) => {
        const { qty, ...rest } = envelope.data as { store: string; sku: string; qty: number };
        return { ...envelope, type: 'shop.stock.received.v1', data: { ...rest, quantity: qty } };
      },
    };
    expect(validateEvent(v0)).toMatchObject({ ok: false, reason: 'unknown_type' });
    expect(validateEvent(v0, upgrades as never)).toEqual({ ok: true, event: { ...v0, type: 'shop.stock.received.v1', data: { store: 'oslo', sku: 'SKU-1', quantity: 4 } } });
  });
});
