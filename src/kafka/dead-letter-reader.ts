import type { IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { letterId, matches, newestFirst, type LetterFilter, type LetterSource, type LetterSummary, type ParsedLetterId } from '../domain/dead-letters.js';
import { parseJsonValue } from '../domain/value-preview.js';
import { ShopctlError } from '../errors.js';
import { connectOrExplain } from './client.js';
import { headerText } from './codec.js';
import { DLQ_HEADERS, type DeadLetterReason } from './dead-letter.js';
import { createProducer } from './publisher.js';
import { RETRY_HEADERS, retriableReasons } from './retry.js';
import { readToEnd } from './read-to-end.js';

// Reading the dead-letter and import-errors topics, and sending dead letters back. Ids, order,
// filters and the grouping by event are in domain/dead-letters.ts; the ledger of what was sent
// back is in db/redriven.ts; services/dead-letters.ts puts them together.

export function sourceTopic(config: Config, source: LetterSource): string {
  return source === 'dlq' ? config.kafka.topics.dlq : config.kafka.topics.importErrors;
}

/** The whole record, for `show` and for sending it back. */
export interface LetterRecord extends LetterSummary {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** Whether a reason can clear up by itself (the reference or the stock arriving later). */
export function isRetriableReason(reason: string): boolean {
  return retriableReasons.has(reason as DeadLetterReason);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOr = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);

// Import errors carry {file, line, raw, reasons[]}; a reason may be a string or an object.
function importReasons(reasons: unknown): string {
  if (!Array.isArray(reasons)) return '';
  return reasons
    .map((reason) => {
      if (typeof reason === 'string') return reason;
      if (isRecord(reason)) return stringOr(reason.message) ?? stringOr(reason.reason) ?? JSON.stringify(reason);
      return String(reason);
    })
    .join('; ');
}

function timeOf(message: KafkaMessage): string {
  const header = headerText(message.headers, DLQ_HEADERS.time);
  if (header !== undefined && !Number.isNaN(Date.parse(header))) return new Date(header).toISOString();
  const timestamp = Number(message.timestamp);
  return new Date(Number.isFinite(timestamp) ? timestamp : 0).toISOString();
}

/** Turns a record of the dead-letter or import-errors topic into a letter. */
export function toLetter(source: LetterSource, topic: string, partition: number, message: KafkaMessage): LetterRecord {
  const headers = message.headers ?? {};
  const text = (name: string): string | null => headerText(headers, name) ?? null;
  const parsed = parseJsonValue(message.value);
  const body = isRecord(parsed) ? parsed : {};
  const originalPartition = Number(text(DLQ_HEADERS.partition) ?? Number.NaN);
  const attempts = Number(text(RETRY_HEADERS.attempt) ?? '0');
  const line = body.line;
  const isImportRow = source === 'import-errors' || (typeof body.file === 'string' && Array.isArray(body.reasons));
  return {
    id: letterId(partition, message.offset),
    source,
    topic,
    partition,
    offset: message.offset,
    time: timeOf(message),
    reason: text(DLQ_HEADERS.reason) ?? (isImportRow ? 'invalid_row' : 'unknown'),
    message: text(DLQ_HEADERS.message) ?? (isImportRow ? importReasons(body.reasons) : ''),
    originalTopic: text(DLQ_HEADERS.topic),
    originalPartition: Number.isInteger(originalPartition) ? originalPartition : null,
    originalOffset: text(DLQ_HEADERS.offset),
    file: isImportRow ? stringOr(body.file) : null,
    line: isImportRow && typeof line === 'number' ? line : null,
    eventId: text('ce_id') ?? (isImportRow ? null : stringOr(body.id)),
    eventType: text('ce_type') ?? (isImportRow ? null : stringOr(body.type)),
    attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : 0,
    key: message.key,
    value: message.value,
    headers,
  };
}

export function summaryOf(letter: LetterRecord): LetterSummary {
  const { key: _key, value: _value, headers: _headers, ...summary } = letter;
  return summary;
}

const bookkeepingPrefixes = ['x-dlq-', 'x-retry-', 'x-original-'];
export const REDRIVEN_FROM_HEADER = 'x-redriven-from';

/** Where a letter is recorded as re-driven: `<dead-letter topic>/<partition>:<offset>`. */
export const redrivenKey = (letter: LetterSummary): string => `${letter.topic}/${letter.id}`;

/**
 * The message to send back: the original key, value and headers. The dead-letter and retry
 * headers go, and so does the recorded origin: should the event fail again, its new letter
 * points at the copy that failed, and it gets a fresh set of retries. `x-redriven-from` says
 * which letter it is a copy of.
 */
export function redriveMessage(letter: LetterRecord): Message {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(letter.headers)) {
    if (value === undefined || bookkeepingPrefixes.some((prefix) => name.toLowerCase().startsWith(prefix))) continue;
    headers[name] = value;
  }
  headers[REDRIVEN_FROM_HEADER] = redrivenKey(letter);
  return { key: letter.key, value: letter.value, headers };
}

/** Headers as text, one value per name (repeated headers joined with ', '). */
export function headersText(headers: IHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = (Array.isArray(value) ? value : [value]).map((item) => item.toString()).join(', ');
  }
  return out;
}

/** Every letter of the given sources that matches, newest first, as summaries (payloads are not kept). */
export async function listLetters(
  kafka: Kafka,
  config: Config,
  sources: readonly LetterSource[],
  filter: LetterFilter = {},
): Promise<{ total: number; letters: LetterSummary[]; missing: string[] }> {
  const bySource = new Map(sources.map((source) => [sourceTopic(config, source), source]));
  const letters: LetterSummary[] = [];
  let total = 0;
  const { missing } = await readToEnd(kafka, config, [...bySource.keys()], (topic, partition, message) => {
    total += 1;
    const letter = summaryOf(toLetter(bySource.get(topic) ?? 'dlq', topic, partition, message));
    if (matches(letter, filter)) letters.push(letter);
  });
  return { total, letters: letters.sort(newestFirst), missing };
}

/** One letter by id, or null when there is none. */
export async function findLetter(kafka: Kafka, config: Config, source: LetterSource, id: ParsedLetterId): Promise<LetterRecord | null> {
  const topic = sourceTopic(config, source);
  let found: LetterRecord | null = null;
  await readToEnd(kafka, config, [topic], (_topic, partition, message) => {
    if (partition !== id.partition || message.offset !== id.offset) return false;
    found = toLetter(source, topic, partition, message);
    return true;
  });
  return found;
}

export type LetterSelection = { kind: 'ids'; ids: ParsedLetterId[] } | { kind: 'filter'; filter: LetterFilter };

/** The dead letters with the given ids (failing on an id that is not there), or every one that matches. */
export async function selectDeadLetters(kafka: Kafka, config: Config, selection: LetterSelection): Promise<LetterRecord[]> {
  const topic = config.kafka.topics.dlq;
  const wanted = selection.kind === 'ids' ? new Set(selection.ids.map((id) => letterId(id.partition, id.offset))) : null;
  const selected: LetterRecord[] = [];
  await readToEnd(kafka, config, [topic], (_topic, partition, message) => {
    if (wanted && !wanted.has(letterId(partition, message.offset))) return;
    const letter = toLetter('dlq', topic, partition, message);
    if (selection.kind === 'filter' && !matches(letter, selection.filter)) return;
    selected.push(letter);
  });
  if (wanted) {
    const found = new Set(selected.map((letter) => letter.id));
    const unknown = [...wanted].filter((id) => !found.has(id));
    if (unknown.length > 0) throw letterNotFound(topic, unknown);
  }
  return selected.sort(newestFirst);
}

/** Sends letters back to the topics they were first read from, acknowledged by every replica. */
export async function sendBack(kafka: Kafka, config: Config, letters: readonly LetterRecord[]): Promise<void> {
  const byTopic = new Map<string, Message[]>();
  // In the order they were first produced, so that letters of one key go back in their order.
  for (const letter of [...letters].sort(firstProducedFirst)) {
    if (letter.originalTopic === null) continue;
    const list = byTopic.get(letter.originalTopic) ?? [];
    list.push(redriveMessage(letter));
    byTopic.set(letter.originalTopic, list);
  }
  const producer = createProducer(kafka);
  await connectOrExplain(config, () => producer.connect());
  try {
    for (const [topic, messages] of byTopic) {
      for (let start = 0; start < messages.length; start += 200) {
        await producer.send({ topic, acks: -1, messages: messages.slice(start, start + 200) });
      }
    }
  } finally {
    await producer.disconnect();
  }
}

function firstProducedFirst(a: LetterSummary, b: LetterSummary): number {
  const offset = (letter: LetterSummary): bigint => (letter.originalOffset !== null && /^\d+$/.test(letter.originalOffset) ? BigInt(letter.originalOffset) : 0n);
  return (a.originalPartition ?? 0) - (b.originalPartition ?? 0) || Number(offset(a) - offset(b)) || a.time.localeCompare(b.time);
}

export function letterNotFound(topic: string, ids: readonly string[]): ShopctlError {
  return new ShopctlError(
    ids.length === 1 ? `No letter '${ids[0]}' in topic '${topic}'` : `No letters ${ids.map((id) => `'${id}'`).join(', ')} in topic '${topic}'`,
    {
      code: 'LETTER_NOT_FOUND',
      suggestion: 'Ids are <partition>:<offset>; `shopctl errors list` shows them (with --topic import-errors for import errors).',
    },
  );
}
