import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { recordRedriven, redrivenAmong } from '../db/redriven.js';
import { deadEntries, eventOnly, groupByReason, groupLetters, type DeadEntry, type LetterFilter, type LetterGroup, type LetterSource, type ParsedLetterId, type ReasonGroup } from '../domain/dead-letters.js';
import {
  findLetter,
  isRetriableReason,
  letterNotFound,
  listLetters,
  redrivenKey,
  selectDeadLetters,
  sendBack,
  sourceTopic,
  type LetterRecord,
  type LetterSelection,
} from '../kafka/dead-letter-reader.js';
import { withAdmin } from '../kafka/topics.js';

// `shopctl errors`: the dead letters counted per event, and re-driven once per event.

export { headersText, isRetriableReason, summaryOf, type LetterRecord } from '../kafka/dead-letter-reader.js';
export { REDRIVEN_COLLECTION } from '../db/redriven.js';

/** One letter by id, or a clear error naming the topic and the id. */
export async function showDeadLetter(kafka: Kafka, config: Config, source: LetterSource, id: ParsedLetterId): Promise<LetterRecord> {
  const letter = await findLetter(kafka, config, source, id);
  if (!letter) throw letterNotFound(sourceTopic(config, source), [`${id.partition}:${id.offset}`]);
  return letter;
}

export interface DeadLetterListing {
  topics: Array<{ source: LetterSource; topic: string; exists: boolean }>;
  /** Letters in the topics, matching or not. */
  total: number;
  /** Letters that match the filter. */
  matchedLetters: number;
  /** What matched, one entry per event and reason (per letter where the event id is unreadable), newest first. */
  entries: DeadEntry[];
  byReason: ReasonGroup[];
}

export async function listDeadLetters(kafka: Kafka, config: Config, sources: readonly LetterSource[], filter: LetterFilter): Promise<DeadLetterListing> {
  const { total, letters, missing } = await listLetters(kafka, config, sources, filter);
  const entries = deadEntries(letters);
  const topics = sources.map((source) => ({ source, topic: sourceTopic(config, source), exists: !missing.includes(sourceTopic(config, source)) }));
  return { topics, total, matchedLetters: letters.length, entries, byReason: groupByReason(entries) };
}

// ---------------------------------------------------------------------------------------------
// Redriving

export interface RedriveRequest {
  kafka: Kafka;
  config: Config;
  db: Db;
  selection: LetterSelection;
  dryRun: boolean;
  /** Send events again that were re-driven before. */
  force: boolean;
  now: () => Date;
}

/** An event sent back (or not): the fields of its latest selected letter, and how many letters it had. */
export interface RedriveItem {
  id: string;
  reason: string;
  to: string | null;
  eventId: string | null;
  eventType: string | null;
  /** Selected letters of this event: it is sent once however many there are. */
  letters: number;
  letterIds: string[];
}

export interface SkippedItem extends RedriveItem {
  why: 'already_redriven' | 'no_original_topic' | 'original_topic_missing';
}

export interface RedriveReport {
  dryRun: boolean;
  topic: string;
  /** Events selected (an event dead-lettered several times counts once). */
  selected: number;
  /** Letters selected. */
  selectedLetters: number;
  /** Sent back (or, in a dry run, what would be): one per event. */
  redriven: RedriveItem[];
  skipped: SkippedItem[];
  byReason: Record<string, number>;
  byTopic: Record<string, number>;
  /** Re-driven events whose reason does not clear up by itself: they will fail again. */
  willFailAgain: Record<string, number>;
}

const itemOf = (group: LetterGroup<LetterRecord>): RedriveItem => ({
  id: group.latest.id,
  reason: group.latest.reason,
  to: group.latest.originalTopic,
  eventId: group.latest.eventId,
  eventType: group.latest.eventType,
  letters: group.letters.length,
  letterIds: group.letters.map((letter) => letter.id),
});

const countBy = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

/**
 * Sends selected dead letters back to the topic they were first read from: each event once (its
 * latest letter), however many letters it has. An event is skipped as already re-driven only
 * when every one of its letters was: a letter written after a re-drive means it failed again.
 */
export async function redriveLetters(request: RedriveRequest): Promise<RedriveReport> {
  const { kafka, config, db } = request;
  const topic = config.kafka.topics.dlq;
  const selected = await selectDeadLetters(kafka, config, request.selection);
  const events = groupLetters(selected, eventOnly);
  const done = await redrivenAmong(db, selected.map(redrivenKey));
  const existing = new Set(await withAdmin(kafka, config, (admin) => admin.listTopics()));

  const toSend: Array<LetterGroup<LetterRecord>> = [];
  const skipped: SkippedItem[] = [];
  for (const event of events) {
    const { latest } = event;
    if (!request.force && event.letters.every((letter) => done.has(redrivenKey(letter)))) skipped.push({ ...itemOf(event), why: 'already_redriven' });
    else if (latest.originalTopic === null) skipped.push({ ...itemOf(event), why: 'no_original_topic' });
    else if (!existing.has(latest.originalTopic)) skipped.push({ ...itemOf(event), why: 'original_topic_missing' });
    else toSend.push(event);
  }

  if (!request.dryRun && toSend.length > 0) {
    await sendBack(
      kafka,
      config,
      toSend.map((event) => event.latest),
    );
    // Recorded after Kafka acknowledged the sends: a crash in between means a later redrive
    // sends them again, which the projection ignores (events are idempotent by id).
    const at = request.now().toISOString();
    await recordRedriven(
      db,
      toSend.flatMap((event) =>
        event.letters.map((letter) => ({ _id: redrivenKey(letter), at, to: event.latest.originalTopic ?? '', reason: letter.reason, eventId: letter.eventId })),
      ),
    );
  }

  const redriven = toSend.map(itemOf);
  return {
    dryRun: request.dryRun,
    topic,
    selected: events.length,
    selectedLetters: selected.length,
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
