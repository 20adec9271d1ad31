import type { IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { ShopctlError } from '../errors.js';
import { connectOrExplain } from './client.js';
import { headerText } from './codec.js';
import { DLQ_HEADERS, type DeadLetterReason } from './dead-letter.js';
import { createProducer } from './publisher.js';
import { RETRY_HEADERS, retriableReasons } from './retry.js';
import { readToEnd } from './read-to-end.js';
import { withAdmin } from './topics.js';

// Reading the dead-letter and import-errors topics, and sending dead letters back.
//
// A letter's id is `<partition>:<offset>` of its record in the topic it was read from (e.g.
// `0:12`): stable for as long as the record is retained, short enough to type. Ids of the
// import-errors topic may carry a prefix (`import-errors/0:3`) where both topics are listed.

export type LetterSource = 'dlq' | 'import-errors';
export const letterSources: readonly LetterSource[] = ['dlq', 'import-errors'];

export function sourceTopic(config: Config, source: LetterSource): string {
  return source === 'dlq' ? config.kafka.topics.dlq : config.kafka.topics.importErrors;
}

/** A letter as listed: what, why, when and where from; no payload. */
export interface LetterSummary {
  id: string;
  source: LetterSource;
  topic: string;
  partition: number;
  offset: string;
  /** When it was rejected (x-dlq-time), else the Kafka timestamp of the record. */
  time: string;
  reason: string;
  message: string;
  /** The topic, partition and offset the rejected event was first read from. */
  originalTopic: string | null;
  originalPartition: number | null;
  originalOffset: string | null;
  /** For import errors: the CSV file and line. */
  file: string | null;
  line: number | null;
  eventId: string | null;
  eventType: string | null;
  /** Retries made before it was dead-lettered. */
  attempts: number;
}

/** The whole record, for `show` and for sending it back. */
export interface LetterRecord extends LetterSummary {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

export function letterId(partition: number, offset: string | number): string {
  return `${partition}:${offset}`;
}

export interface ParsedLetterId {
  source: LetterSource | null;
  partition: number;
  offset: string;
}

/** `0:12`, `dlq/0:12` or `import-errors/0:3`; null when it is none of these. */
export function parseLetterId(raw: string): ParsedLetterId | null {
  const match = /^(?:(dlq|import-errors)\/)?(\d{1,9}):(\d{1,19})$/.exec(raw.trim());
  if (!match) return null;
  return { source: (match[1] as LetterSource | undefined) ?? null, partition: Number(match[2]), offset: String(BigInt(match[3] ?? '0')) };
}

/** Whether a reason can clear up by itself (the reference or the stock arriving later). */
export function isRetriableReason(reason: string): boolean {
  return retriableReasons.has(reason as DeadLetterReason);
}

function parseJson(value: Buffer | null): unknown {
  if (value === null || value.length === 0 || value.length > 1_000_000) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
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
  const parsed = parseJson(message.value);
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

/** Where a letter came from, in one short phrase. */
export function originOf(letter: LetterSummary): string {
  if (letter.file !== null) return letter.line === null ? letter.file : `${letter.file}:${letter.line}`;
  if (letter.originalTopic === null) return '-';
  const at = letter.originalPartition === null ? '' : ` [${letter.originalPartition}]`;
  return `${letter.originalTopic}${at}${letter.originalOffset === null ? '' : ` @${letter.originalOffset}`}`;
}

/** Newest first; records at the same time by topic, partition and offset, newest first. */
export function newestFirst(a: LetterSummary, b: LetterSummary): number {
  return (
    b.time.localeCompare(a.time) ||
    a.topic.localeCompare(b.topic) ||
    b.partition - a.partition ||
    Number(BigInt(b.offset) - BigInt(a.offset))
  );
}

export interface ReasonGroup {
  /** Which topic: a reason means something else for a CSV row than for an event. */
  source: LetterSource;
  reason: string;
  count: number;
  newest: string;
  oldest: string;
}

/** Counts per topic and reason, the group with the most recent letter first. */
export function groupByReason(letters: Iterable<LetterSummary>): ReasonGroup[] {
  const groups = new Map<string, ReasonGroup>();
  for (const letter of letters) {
    const key = `${letter.source}\u0000${letter.reason}`;
    const group = groups.get(key);
    if (!group) groups.set(key, { source: letter.source, reason: letter.reason, count: 1, newest: letter.time, oldest: letter.time });
    else {
      group.count += 1;
      if (letter.time > group.newest) group.newest = letter.time;
      if (letter.time < group.oldest) group.oldest = letter.time;
    }
  }
  return [...groups.values()].sort((a, b) => b.newest.localeCompare(a.newest) || b.count - a.count);
}

export interface LetterFilter {
  reason?: string | undefined;
  since?: Date | undefined;
}

export function matches(letter: LetterSummary, filter: LetterFilter): boolean {
  if (filter.reason !== undefined && letter.reason !== filter.reason) return false;
  if (filter.since !== undefined && Date.parse(letter.time) < filter.since.getTime()) return false;
  return true;
}

const bookkeepingPrefixes = ['x-dlq-', 'x-retry-', 'x-original-'];
export const REDRIVEN_FROM_HEADER = 'x-redriven-from';

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
  headers[REDRIVEN_FROM_HEADER] = `${letter.topic}/${letter.id}`;
  return { key: letter.key, value: letter.value, headers };
}

export type ValuePreview =
  | { format: 'empty' }
  | { format: 'json'; bytes: number; json: unknown }
  | { format: 'text'; bytes: number; text: string }
  | { format: 'binary'; bytes: number; hex: string; utf8: string; truncated: boolean };

const PREVIEW_BYTES = 256;

/** A value for people: JSON when it parses, text when it is printable UTF-8, else a hex preview. */
export function previewValue(value: Buffer | null): ValuePreview {
  if (value === null || value.length === 0) return { format: 'empty' };
  const json = parseJson(value);
  if (json !== undefined) return { format: 'json', bytes: value.length, json };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(value);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return { format: 'text', bytes: value.length, text };
  } catch {
    // Not UTF-8: fall through to the hex preview.
  }
  const head = value.subarray(0, PREVIEW_BYTES);
  return {
    format: 'binary',
    bytes: value.length,
    hex: head.toString('hex').replace(/(..)(?!$)/g, '$1 '),
    // eslint-disable-next-line no-control-regex
    utf8: head.toString('utf8').replace(/[\u0000-\u001f\u007f\ufffd]/g, '.'),
    truncated: value.length > PREVIEW_BYTES,
  };
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

/** Every letter of the given sources, newest first, as summaries (payloads are not kept). */
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

// ---------------------------------------------------------------------------------------------
// Redriving

export const REDRIVEN_COLLECTION = 'redriven';

/** A letter sent back, recorded so that it is not sent twice by accident. */
export interface RedrivenDoc {
  /** `<dead-letter topic>/<partition>:<offset>` */
  _id: string;
  at: string;
  to: string;
  reason: string;
  eventId: string | null;
}

export const redrivenKey = (letter: LetterSummary): string => `${letter.topic}/${letter.id}`;

export type RedriveSelection = { kind: 'ids'; ids: ParsedLetterId[] } | { kind: 'filter'; filter: LetterFilter };

export interface RedriveRequest {
  kafka: Kafka;
  config: Config;
  db: Db;
  selection: RedriveSelection;
  dryRun: boolean;
  /** Send letters again that were re-driven before. */
  force: boolean;
  now: () => Date;
}

export interface RedriveItem {
  id: string;
  reason: string;
  to: string | null;
  eventId: string | null;
  eventType: string | null;
}

export interface SkippedItem extends RedriveItem {
  why: 'already_redriven' | 'no_original_topic' | 'original_topic_missing';
}

export interface RedriveReport {
  dryRun: boolean;
  topic: string;
  selected: number;
  /** Sent back (or, in a dry run, what would be). */
  redriven: RedriveItem[];
  skipped: SkippedItem[];
  byReason: Record<string, number>;
  byTopic: Record<string, number>;
  /** Re-driven letters whose reason does not clear up by itself: they will fail again. */
  willFailAgain: Record<string, number>;
}

const itemOf = (letter: LetterSummary): RedriveItem => ({
  id: letter.id,
  reason: letter.reason,
  to: letter.originalTopic,
  eventId: letter.eventId,
  eventType: letter.eventType,
});

const countBy = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

/** Sends selected dead letters back to the topic they were first read from. */
export async function redriveLetters(request: RedriveRequest): Promise<RedriveReport> {
  const { kafka, config, db, selection } = request;
  const topic = config.kafka.topics.dlq;
  const wanted = selection.kind === 'ids' ? new Set(selection.ids.map((id) => letterId(id.partition, id.offset))) : null;
  const selected: LetterRecord[] = [];
  await readToEnd(kafka, config, [topic], (_topic, partition, message) => {
    const id = letterId(partition, message.offset);
    if (wanted && !wanted.has(id)) return;
    const letter = toLetter('dlq', topic, partition, message);
    if (selection.kind === 'filter' && !matches(letter, selection.filter)) return;
    selected.push(letter);
  });
  if (wanted) {
    const found = new Set(selected.map((letter) => letter.id));
    const unknown = [...wanted].filter((id) => !found.has(id));
    if (unknown.length > 0) throw letterNotFound(topic, unknown);
  }
  selected.sort(newestFirst);

  const markers = db.collection<RedrivenDoc>(REDRIVEN_COLLECTION);
  const done = new Set<string>();
  const keys = selected.map(redrivenKey);
  for (let start = 0; start < keys.length; start += 1000) {
    const found = await markers.find({ _id: { $in: keys.slice(start, start + 1000) } }, { projection: { _id: 1 } }).toArray();
    for (const doc of found) done.add(doc._id);
  }
  const existing = new Set(await withAdmin(kafka, config, (admin) => admin.listTopics()));

  const toSend: LetterRecord[] = [];
  const skipped: SkippedItem[] = [];
  for (const letter of selected) {
    if (!request.force && done.has(redrivenKey(letter))) skipped.push({ ...itemOf(letter), why: 'already_redriven' });
    else if (letter.originalTopic === null) skipped.push({ ...itemOf(letter), why: 'no_original_topic' });
    else if (!existing.has(letter.originalTopic)) skipped.push({ ...itemOf(letter), why: 'original_topic_missing' });
    else toSend.push(letter);
  }

  if (!request.dryRun && toSend.length > 0) {
    await sendBack(kafka, config, toSend);
    // Recorded after Kafka acknowledged the sends: a crash in between means a later redrive
    // sends them again, which the projection ignores (events are idempotent by id).
    const at = request.now().toISOString();
    for (let start = 0; start < toSend.length; start += 500) {
      await markers.bulkWrite(
        toSend.slice(start, start + 500).map((letter) => ({
          replaceOne: {
            filter: { _id: redrivenKey(letter) },
            replacement: { at, to: letter.originalTopic ?? '', reason: letter.reason, eventId: letter.eventId },
            upsert: true,
          },
        })),
        { ordered: true },
      );
    }
  }

  const redriven = toSend.map(itemOf);
  return {
    dryRun: request.dryRun,
    topic,
    selected: selected.length,
    redriven,
    skipped,
    byReason: countBy(redriven, (item) => item.reason),
    byTopic: countBy(redriven, (item) => item.to ?? '-'),
    willFailAgain: countBy(
      redriven.filter((item) => !isRetriableReason(item.reason)),
      (item) => item.reason,
    ),
  };
}

async function sendBack(kafka: Kafka, config: Config, letters: readonly LetterRecord[]): Promise<void> {
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
