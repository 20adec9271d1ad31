// Letters of the dead-letter and import-errors topics, as plain values: ids, where they came
// from, their order, filters, and the grouping that counts rejected events rather than letters.
// Pure: no Kafka, no MongoDB, no clock.
//
// A letter's id is `<partition>:<offset>` of its record in the topic it was read from (e.g.
// `0:12`): stable for as long as the record is retained, short enough to type. Ids of the
// import-errors topic may carry a prefix (`import-errors/0:3`) where both topics are listed.

export type LetterSource = 'dlq' | 'import-errors';
export const letterSources: readonly LetterSource[] = ['dlq', 'import-errors'];

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

export interface LetterFilter {
  reason?: string | undefined;
  since?: Date | undefined;
}

export function matches(letter: LetterSummary, filter: LetterFilter): boolean {
  if (filter.reason !== undefined && letter.reason !== filter.reason) return false;
  if (filter.since !== undefined && Date.parse(letter.time) < filter.since.getTime()) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Events, not letters
//
// Kafka cannot take a letter back: an event dead-lettered again after a kill, a replay or a
// re-drive that failed again adds another letter for the same event. Counting letters then
// overstates what went wrong (19,215 letters for 10,791 events in one run), so letters are
// grouped by the event they carry. A letter whose event id cannot be read (bytes that are no
// event, a CSV row) is a group of its own.

/** Groups letters by event and reason: what `errors list` counts. */
export function eventAndReason(letter: LetterSummary): string {
  return letter.eventId === null ? soleLetter(letter) : `${letter.source}\u0000${letter.topic}\u0000event\u0000${letter.eventId}\u0000${letter.reason}`;
}

/** Groups letters by event whatever their reason: what `errors redrive` sends (each event once). */
export function eventOnly(letter: LetterSummary): string {
  return letter.eventId === null ? soleLetter(letter) : `${letter.source}\u0000${letter.topic}\u0000event\u0000${letter.eventId}`;
}

const soleLetter = (letter: LetterSummary): string => `${letter.source}\u0000${letter.topic}\u0000letter\u0000${letter.id}`;

export interface LetterGroup<T extends LetterSummary> {
  /** The most recent letter of the group: the one shown, and the one sent back. */
  latest: T;
  /** Every letter of the group, newest first (`latest` included). */
  letters: T[];
}

/** Letters grouped by `keyOf`, each group's letters newest first, the groups newest first. */
export function groupLetters<T extends LetterSummary>(letters: Iterable<T>, keyOf: (letter: LetterSummary) => string = eventAndReason): Array<LetterGroup<T>> {
  const groups = new Map<string, T[]>();
  for (const letter of letters) {
    const key = keyOf(letter);
    const group = groups.get(key);
    if (group) group.push(letter);
    else groups.set(key, [letter]);
  }
  return [...groups.values()]
    .map((group) => {
      const sorted = group.sort(newestFirst);
      return { latest: sorted[0] as T, letters: sorted };
    })
    .sort((a, b) => newestFirst(a.latest, b.latest));
}

/** One row of `errors list`: a rejected event (the fields of its latest letter) and how many letters it had. */
export interface DeadEntry extends LetterSummary {
  /** How many letters carry this event with this reason (1 for a letter whose event id is unreadable). */
  letters: number;
  /** Their ids, newest first (`id` is the first). */
  letterIds: string[];
  /** When its first letter was written. */
  firstTime: string;
}

export function entryOf(group: LetterGroup<LetterSummary>): DeadEntry {
  const oldest = group.letters[group.letters.length - 1] ?? group.latest;
  return { ...group.latest, letters: group.letters.length, letterIds: group.letters.map((letter) => letter.id), firstTime: oldest.time };
}

/** Letters as rows of `errors list`: one per event and reason, newest first. */
export function deadEntries(letters: Iterable<LetterSummary>): DeadEntry[] {
  return groupLetters(letters, eventAndReason).map(entryOf);
}

export interface ReasonGroup {
  /** Which topic: a reason means something else for a CSV row than for an event. */
  source: LetterSource;
  reason: string;
  /** Distinct events (or unreadable letters, or CSV rows) with this reason. */
  count: number;
  /** Letters with this reason: more than `count` when events were dead-lettered more than once. */
  letters: number;
  newest: string;
  oldest: string;
}

/** Counts per topic and reason (events, and letters), the group with the most recent letter first. */
export function groupByReason(entries: Iterable<DeadEntry>): ReasonGroup[] {
  const groups = new Map<string, ReasonGroup>();
  for (const entry of entries) {
    const key = `${entry.source}\u0000${entry.reason}`;
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { source: entry.source, reason: entry.reason, count: 1, letters: entry.letters, newest: entry.time, oldest: entry.firstTime });
    } else {
      group.count += 1;
      group.letters += entry.letters;
      if (entry.time > group.newest) group.newest = entry.time;
      if (entry.firstTime < group.oldest) group.oldest = entry.firstTime;
    }
  }
  return [...groups.values()].sort((a, b) => b.newest.localeCompare(a.newest) || b.count - a.count);
}
