import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { headerText } from './codec.js';
import { DLQ_HEADERS, type DeadLetterReason } from './dead-letter.js';

export const RETRY_HEADERS = {
  attempt: 'x-retry-attempt',
  notBefore: 'x-retry-not-before',
  reason: 'x-retry-reason',
  group: 'x-retry-group',
} as const;

/** Reasons that may resolve themselves: the reference or the stock may arrive later. */
export const retriableReasons: ReadonlySet<DeadLetterReason> = new Set(['unknown_reference', 'insufficient_stock']);

export interface RetryPolicy {
  maxRetries: number;
  backoffMs: number;
}

export function attemptOf(message: KafkaMessage): number {
  const raw = Number(headerText(message.headers, RETRY_HEADERS.attempt) ?? '0');
  return Number.isInteger(raw) && raw > 0 ? raw : 0;
}

/** When a retry message becomes due (epoch ms); 0 for anything else. */
export function dueAt(message: KafkaMessage): number {
  const raw = Number(headerText(message.headers, RETRY_HEADERS.notBefore) ?? '0');
  return Number.isFinite(raw) ? raw : 0;
}

/** Exponential backoff: backoff, 2x, 4x, … for attempts 1, 2, 3, … */
export function backoffFor(policy: RetryPolicy, attempt: number): number {
  return policy.backoffMs * 2 ** Math.max(0, attempt - 1);
}

export interface RetryRequest {
  topic: string;
  partition: number;
  message: KafkaMessage;
  reason: DeadLetterReason;
  detail: string;
}

/**
 * The next attempt of a rejected event, for the retry topic: the original key, value and headers,
 * the attempt number and when it is due. Where it first came from is kept from the first attempt.
 */
export function retryMessage(request: RetryRequest, policy: RetryPolicy, now: number, groupId: string): Message {
  const attempt = attemptOf(request.message) + 1;
  const original = request.message.headers ?? {};
  const headers: IHeaders = {
    ...original,
    [RETRY_HEADERS.attempt]: String(attempt),
    [RETRY_HEADERS.notBefore]: String(now + backoffFor(policy, attempt)),
    [RETRY_HEADERS.reason]: request.reason,
    [RETRY_HEADERS.group]: groupId,
    [DLQ_HEADERS.message]: request.detail.slice(0, 2000),
  };
  if (original[DLQ_HEADERS.topic] === undefined) {
    headers[DLQ_HEADERS.topic] = request.topic;
    headers[DLQ_HEADERS.partition] = String(request.partition);
    headers[DLQ_HEADERS.offset] = request.message.offset;
  }
  return { key: request.message.key, value: request.message.value, headers };
}

export function canRetry(message: KafkaMessage, reason: DeadLetterReason, policy: RetryPolicy): boolean {
  return retriableReasons.has(reason) && attemptOf(message) < policy.maxRetries;
}

/**
 * The retry topic is shared; each consumer group projects into its own database, so a group
 * takes only the retries it produced (letters from before groups were recorded are taken by all).
 */
export function isForGroup(message: KafkaMessage, groupId: string): boolean {
  const group = headerText(message.headers, RETRY_HEADERS.group);
  return group === undefined || group === groupId;
}
