import type { KafkaMessage } from 'kafkajs';
import { parseSince } from '../../src/domain/since.js';
import { describe, expect, it } from 'vitest';
import { createEvent } from '../../src/domain/events.js';
import { encodeEvent } from '../../src/kafka/codec.js';
import {
  deadEntries,
  eventOnly,
  groupByReason,
  groupLetters,
  matches,
  newestFirst,
  parseLetterId,
  type LetterSummary,
} from '../../src/domain/dead-letters.js';
import { previewValue } from '../../src/domain/value-preview.js';
import { redriveMessage, summaryOf, toLetter } from '../../src/kafka/dead-letter-reader.js';
import { deadLetterMessage } from '../../src/kafka/dead-letter.js';
import { retryMessage } from '../../src/kafka/retry.js';

const now = new Date('2026-02-01T12:00:00.000Z');

const purchase = createEvent(
  'shop.purchase.made.v1',
  { customerId: 'c1', sku: 'SKU-1', store: 'online', quantity: 2, unitPrice: { amount: 150, currency: 'EUR' } },
  { id: 'e1', time: '2026-01-01T00:00:00.000Z', source: 'test' },
);

// A Kafka record as the consumer hands it over.
function record(offset: string, message: { key?: string | Buffer | null; value: string | Buffer | null; headers?: Record<string, string | Buffer> }): KafkaMessage {
  const buffer = (value: string | Buffer | null | undefined) => (value === null || value === undefined ? null : Buffer.from(value));
  const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, Buffer.from(value)]));
  return { key: buffer(message.key), value: buffer(message.value), headers, offset, timestamp: String(now.getTime()), attributes: 0 };
}

// The dead letter of a purchase that went once through the retry topic, as the projector writes it.
function retriedLetter(): KafkaMessage {
  const original = record('41', encodeEvent(purchase) as { key: string; value: string; headers: Record<string, string> });
  const retry = retryMessage({ topic: 'shop.inventory', partition: 2, message: original, reason: 'unknown_reference', detail: "unknown customer 'c1'" }, { maxRetries: 1, backoffMs: 100 }, 0, 'g1');
  const onRetryTopic = record('5', retry as { key: string; value: string; headers: Record<string, string> });
  const dead = deadLetterMessage({ topic: 'shop.retry', partition: 0, message: onRetryTopic, reason: 'unknown_reference', detail: "unknown customer 'c1'" }, now);
  return record('12', dead as { key: string; value: string; headers: Record<string, string> });
}

describe('dead-letter reader', () => {
  it('parses letter ids, with or without a topic prefix', () => {
    expect(parseLetterId('0:12')).toEqual({ source: null, partition: 0, offset: '12' });
    expect(parseLetterId('import-errors/2:007')).toEqual({ source: 'import-errors', partition: 2, offset: '7' });
    expect(parseLetterId('dlq/1:3')).toMatchObject({ source: 'dlq' });
    for (const bad of ['12', '0:', ':3', 'a:b', 'retry/0:1', '-1:2', '0:1:2']) expect(parseLetterId(bad)).toBeNull();
  });

  it('parses --since as an ISO date/time or a duration back from now', () => {
    expect(parseSince('15m', now)).toEqual(new Date('2026-02-01T11:45:00.000Z'));
    expect(parseSince('2h', now)).toEqual(new Date('2026-02-01T10:00:00.000Z'));
    expect(parseSince('1d', now)).toEqual(new Date('2026-01-31T12:00:00.000Z'));
    expect(parseSince('2026-01-31', now)).toEqual(new Date('2026-01-31T00:00:00.000Z'));
    expect(parseSince('2026-01-31T10:30:00Z', now)).toEqual(new Date('2026-01-31T10:30:00.000Z'));
    for (const bad of ['yesterday', '2h30m', '15', '-1h', '2026-13-45', '31/01/2026', '']) expect(parseSince(bad, now)).toBeNull();
  });

  it('reads a dead letter: reason, time, where it first came from, the event and the retries', () => {
    const letter = toLetter('dlq', 'shop.dlq', 1, retriedLetter());
    expect(summaryOf(letter)).toEqual({
      id: '1:12',
      source: 'dlq',
      topic: 'shop.dlq',
      partition: 1,
      offset: '12',
      time: now.toISOString(),
      reason: 'unknown_reference',
      message: "unknown customer 'c1'",
      originalTopic: 'shop.inventory',
      originalPartition: 2,
      originalOffset: '41',
      file: null,
      line: null,
      eventId: 'e1',
      eventType: 'shop.purchase.made.v1',
      attempts: 1,
    });
  });

  it('reads an import error: file, line and every reason', () => {
    const value = JSON.stringify({ file: 'in.csv', line: 9, raw: 'a,b', reasons: ['bad date', { reason: 'bad_value', message: 'value must be positive' }] });
    const letter = toLetter('import-errors', 'shop.import-errors', 0, record('3', { value, headers: { 'x-dlq-reason': 'invalid_row', 'x-dlq-time': '2026-01-02T00:00:00Z' } }));
    expect(letter).toMatchObject({ reason: 'invalid_row', file: 'in.csv', line: 9, message: 'bad date; value must be positive', time: '2026-01-02T00:00:00.000Z' });
    expect(letter.eventId).toBeNull();
  });

  it('sends back the original key, value and headers, without the dead-letter, retry and origin headers', () => {
    const letter = toLetter('dlq', 'shop.dlq', 1, retriedLetter());
    const message = redriveMessage(letter);
    expect(message.key?.toString()).toBe('online:SKU-1');
    expect(JSON.parse(String(message.value))).toEqual(purchase);
    expect(Object.keys(message.headers ?? {}).sort()).toEqual(['ce_id', 'ce_type', 'content-type', 'x-redriven-from']);
    expect(message.headers?.['x-redriven-from']).toBe('shop.dlq/1:12');
  });

  it('groups by reason, the most recent reason first, and filters', () => {
    const at = (offset: string, reason: string, time: string) =>
      summaryOf(toLetter('dlq', 'shop.dlq', 0, record(offset, { value: '{}', headers: { 'x-dlq-reason': reason, 'x-dlq-time': time } })));
    const letters = [
      at('1', 'invalid_json', '2026-01-01T00:00:00Z'),
      at('2', 'unknown_reference', '2026-01-02T00:00:00Z'),
      at('3', 'invalid_json', '2026-01-03T00:00:00Z'),
      at('4', 'unknown_reference', '2026-01-01T12:00:00Z'),
    ];
    expect(groupByReason(deadEntries(letters))).toEqual([
      { source: 'dlq', reason: 'invalid_json', count: 2, letters: 2, newest: '2026-01-03T00:00:00.000Z', oldest: '2026-01-01T00:00:00.000Z' },
      { source: 'dlq', reason: 'unknown_reference', count: 2, letters: 2, newest: '2026-01-02T00:00:00.000Z', oldest: '2026-01-01T12:00:00.000Z' },
    ]);
    // The same reason in the import-errors topic is a group of its own.
    const row = summaryOf(toLetter('import-errors', 'shop.import-errors', 0, record('9', { value: '{}', headers: { 'x-dlq-reason': 'unknown_reference', 'x-dlq-time': '2026-01-04T00:00:00Z' } })));
    expect(groupByReason(deadEntries([...letters, row])).map((group) => `${group.source}:${group.reason}:${group.count}`)).toEqual([
      'import-errors:unknown_reference:1',
      'dlq:invalid_json:2',
      'dlq:unknown_reference:2',
    ]);
    expect([...letters].sort(newestFirst).map((letter) => letter.id)).toEqual(['0:3', '0:2', '0:4', '0:1']);
    expect(letters.filter((letter) => matches(letter, { reason: 'invalid_json', since: new Date('2026-01-02T00:00:00Z') })).map((l) => l.id)).toEqual(['0:3']);
  });

  // An event dead-lettered again after a kill or a replay: Kafka keeps every letter.
  describe('counts events, not letters', () => {
    // A letter of event `eventId` (null: unreadable bytes) with `reason`, written at `time`.
    const letter = (offset: string, eventId: string | null, reason: string, time: string, partition = 0): LetterSummary => {
      const headers: Record<string, string> = { 'x-dlq-reason': reason, 'x-dlq-time': time, 'x-original-topic': 'shop.inventory' };
      if (eventId !== null) headers.ce_id = eventId;
      return summaryOf(toLetter('dlq', 'shop.dlq', partition, record(offset, { value: eventId === null ? Buffer.from([0xde, 0xad]) : '{}', headers })));
    };
    const letters = [
      letter('1', 'e1', 'insufficient_stock', '2026-01-01T00:00:00Z'),
      letter('2', 'e2', 'insufficient_stock', '2026-01-01T01:00:00Z'),
      letter('7', 'e1', 'insufficient_stock', '2026-01-02T00:00:00Z', 1), // e1 again, after a kill
      letter('9', 'e1', 'insufficient_stock', '2026-01-03T00:00:00Z'), // and after a replay
      letter('3', null, 'invalid_json', '2026-01-01T02:00:00Z'),
      letter('4', null, 'invalid_json', '2026-01-01T02:00:00Z'), // the same bytes again: no id to tell, so two rows
      letter('5', 'e2', 'unknown_reference', '2026-01-01T03:00:00Z'), // e2 with another reason: a row of its own
    ];

    it('one row per event and reason, with the latest letter, how many letters and the first time', () => {
      const entries = deadEntries(letters);
      expect(entries.map((entry) => ({ id: entry.id, eventId: entry.eventId, reason: entry.reason, letters: entry.letters }))).toEqual([
        { id: '0:9', eventId: 'e1', reason: 'insufficient_stock', letters: 3 },
        { id: '0:5', eventId: 'e2', reason: 'unknown_reference', letters: 1 },
        { id: '0:4', eventId: null, reason: 'invalid_json', letters: 1 },
        { id: '0:3', eventId: null, reason: 'invalid_json', letters: 1 },
        { id: '0:2', eventId: 'e2', reason: 'insufficient_stock', letters: 1 },
      ]);
      expect(entries[0]).toMatchObject({ letterIds: ['0:9', '1:7', '0:1'], time: '2026-01-03T00:00:00.000Z', firstTime: '2026-01-01T00:00:00.000Z' });
      // Whatever order the topic's partitions were read in.
      expect(deadEntries([...letters].reverse())).toEqual(entries);
    });

    it('counts distinct events per reason, and the letters beside them', () => {
      expect(groupByReason(deadEntries(letters))).toEqual([
        { source: 'dlq', reason: 'insufficient_stock', count: 2, letters: 4, newest: '2026-01-03T00:00:00.000Z', oldest: '2026-01-01T00:00:00.000Z' },
        { source: 'dlq', reason: 'unknown_reference', count: 1, letters: 1, newest: '2026-01-01T03:00:00.000Z', oldest: '2026-01-01T03:00:00.000Z' },
        { source: 'dlq', reason: 'invalid_json', count: 2, letters: 2, newest: '2026-01-01T02:00:00.000Z', oldest: '2026-01-01T02:00:00.000Z' },
      ]);
    });

    it('for a re-drive, one group per event whatever its reasons, sending the latest letter', () => {
      const groups = groupLetters(letters, eventOnly);
      expect(groups.map((group) => [group.latest.id, group.letters.length])).toEqual([
        ['0:9', 3],
        ['0:5', 2], // e2: insufficient_stock, then unknown_reference
        ['0:4', 1],
        ['0:3', 1],
      ]);
    });

    it('keeps events of different dead-letter topics apart (errors list --topic all)', () => {
      const other = { ...letters[0]!, topic: 'other.dlq' };
      expect(deadEntries([letters[0]!, other])).toHaveLength(2);
    });
  });

  it('previews values as JSON, text or hex', () => {
    expect(previewValue(Buffer.from('{"a":1}'))).toEqual({ format: 'json', bytes: 7, json: { a: 1 } });
    expect(previewValue(Buffer.from('not json'))).toEqual({ format: 'text', bytes: 8, text: 'not json' });
    expect(previewValue(Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toMatchObject({ format: 'binary', bytes: 4, hex: 'de ad be ef', truncated: false });
    expect(previewValue(null)).toEqual({ format: 'empty' });
  });
});
