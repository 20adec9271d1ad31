import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export type DeadLetterReason =
  | 'invalid_json'
  | 'invalid_envelope'
  | 'unknown_type'
  | 'invalid_data'
  | 'unknown_reference'
  | 'insufficient_stock'
  | 'id_conflict';

export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  message: 'x-dlq-message',
  time: 'x-dlq-time',
  topic: 'x-original-topic',
  partition: 'x-original-partition',
  offset: 'x-original-offset',
} as const;

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  reason: DeadLetterReason;
  detail: string;
  /** The event's id, when the message was a readable event. */
  eventId?: string;
}

// The original key, value bytes and headers, plus why and when it was rejected and where it
// came from, so it can be inspected and sent back unchanged.
// A letter that went through the retry topic keeps the origin recorded on its first attempt.
export function deadLetterMessage(letter: DeadLetter, now: Date): Message {
  const original = letter.message.headers ?? {};
  const headers: IHeaders = {
    ...original,
    [DLQ_HEADERS.reason]: letter.reason,
    [DLQ_HEADERS.message]: letter.detail.slice(0, 2000),
    [DLQ_HEADERS.time]: now.toISOString(),
  };
  if (original[DLQ_HEADERS.topic] === undefined) {
    headers[DLQ_HEADERS.topic] = letter.topic;
    headers[DLQ_HEADERS.partition] = String(letter.partition);
    headers[DLQ_HEADERS.offset] = letter.message.offset;
  }
  return { key: letter.message.key, value: letter.message.value, headers };
}
