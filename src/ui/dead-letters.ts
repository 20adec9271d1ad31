import type { DeadEntry, ReasonGroup } from '../domain/dead-letters.js';
import { originOf } from '../domain/dead-letters.js';
import { previewValue } from '../domain/value-preview.js';
// Types only: the shapes the service returns (ui draws them, it does not call anything).
import type { DeadLetterListing, LetterRecord, RedriveReport } from '../services/dead-letters.js';
import type { Output } from './output.js';
import { renderPairs, renderTable, shortTime } from './table.js';
import { printable, printableBytes } from './text.js';

// How `shopctl errors` draws dead letters for a person (--json prints the objects instead).
// Which reasons clear up by themselves is the caller's rule: passed in as `retriable`.

type Retriable = (reason: string) => boolean;

// Tables escape control characters and fit themselves to the terminal (ui/table.ts); a cell
// only needs a dash for nothing.
const orDash = (text: string): string => text.trim() || '-';

// Import errors are CSV rows, never re-driven: whatever their reason, the file is what to fix.
const retriableText = (group: ReasonGroup, retriable: Retriable): string =>
  group.source === 'import-errors' ? 'no: fix the file' : retriable(group.reason) ? 'yes' : 'no: fix the producer';

const eventLabel = (letter: DeadEntry): string =>
  letter.eventType === null && letter.eventId === null ? '-' : [letter.eventType, letter.eventId].filter(Boolean).join(' ');

/** The counts by reason, then the rejected events (the first `shown` of them). */
export function renderLetterList(
  output: Output,
  listing: Pick<DeadLetterListing, 'topics' | 'total' | 'matchedLetters' | 'entries' | 'byReason'>,
  view: { shown: DeadEntry[]; allTopics: boolean; retriable: Retriable },
): void {
  const { topics, total, matchedLetters, entries, byReason } = listing;
  const { shown, allTopics, retriable } = view;
  const names = topics.map((t) => `'${t.topic}'`).join(' and ');
  if (entries.length === 0) {
    const absent = topics.filter((t) => !t.exists).map((t) => `'${t.topic}'`);
    const why = absent.length > 0 ? ` (${absent.join(', ')} does not exist yet: nothing was rejected there)` : '';
    output.data(total === 0 ? `no letters in ${names}${why}` : `none of the ${total} letters in ${names} match`);
    return;
  }
  output.data(
    renderTable(
      byReason,
      [
        ...(allTopics ? [{ header: 'topic', value: (g: ReasonGroup) => g.source }] : []),
        { header: 'reason', value: (g) => g.reason },
        { header: 'events', value: (g) => g.count, align: 'right' },
        { header: 'letters', value: (g) => g.letters, align: 'right' },
        { header: 'newest', value: (g) => g.newest, fitted: (g) => shortTime(g.newest), keep: true },
        { header: 'oldest', value: (g) => g.oldest, fitted: (g) => shortTime(g.oldest), keep: true },
        { header: 'retriable', value: (g: ReasonGroup) => retriableText(g, retriable) },
      ],
      output,
    ),
  );
  const prefixed = allTopics;
  output.data(
    renderTable(
      shown,
      [
        { header: 'id', value: (l) => (prefixed ? `${l.source}/${l.id}` : l.id), keep: true },
        { header: 'letters', value: (l) => l.letters, align: 'right' },
        { header: 'time', value: (l) => l.time, fitted: (l) => shortTime(l.time), keep: true },
        { header: 'reason', value: (l) => l.reason },
        { header: 'from', value: (l) => orDash(originOf(l)) },
        { header: 'event', value: (l) => orDash(eventLabel(l)), ids: true },
        { header: 'message', value: (l) => orDash(l.message) },
      ],
      output,
    ),
  );
  const more = entries.length > shown.length ? ` (--limit ${entries.length} to see all)` : '';
  const matching = matchedLetters === total ? '' : ` matching, ${total} in all`;
  output.data(`${shown.length} of ${entries.length} rejected events (${matchedLetters} letters${matching})${more}`);
  if (matchedLetters > entries.length) {
    output.info('An event dead-lettered more than once (after a kill, a replay or a failed re-drive) is one row; `letters` says how many it had.');
  }
  output.info('`shopctl errors show ID` prints the whole record; `shopctl errors redrive` sends events back.');
}

/** Text of several lines, each printable (its line breaks kept). */
const printableLines = (text: string): string => text.split(/\r?\n/).map(printable).join('\n');

/**
 * The whole record of one letter: where it came from, its headers, key and value. Everything
 * that came from the record is printable: control characters escaped, bytes that are not UTF-8
 * as \xNN (ui/text.ts), so a letter of garbage cannot garble the terminal.
 */
export function renderLetterRecord(output: Output, letter: LetterRecord, view: { retriable: Retriable }): void {
  const { retriable } = view;
  const rows: Array<readonly [string, string | number]> = [
    ['id', letter.id],
    ['topic', `${letter.topic} [${letter.partition}] @${letter.offset}`],
    ['time', letter.time],
    ['reason', `${letter.reason}${letter.source === 'dlq' && !retriable(letter.reason) ? ' (fails again until the producer is fixed)' : ''}`],
    ['message', letter.message || '-'],
    ['from', originOf(letter)],
  ];
  if (letter.eventType !== null) rows.push(['event type', letter.eventType]);
  if (letter.eventId !== null) rows.push(['event id', letter.eventId]);
  if (letter.attempts > 0) rows.push(['retries before', letter.attempts]);
  // Bytes as they are: UTF-8 shown as text, any other byte as \xNN, controls escaped.
  rows.push(['key', letter.key === null ? '(none)' : printableBytes(letter.key)]);
  output.data(renderPairs(rows, output));

  const headers = Object.entries(letter.headers).flatMap(([name, value]) =>
    value === undefined ? [] : [[name, (Array.isArray(value) ? value : [value]).map((item) => printableBytes(item)).join(', ')] as const],
  );
  output.data('headers:');
  output.data(headers.length === 0 ? '  (none)' : renderPairs(headers, output));

  const preview = previewValue(letter.value);
  switch (preview.format) {
    case 'empty':
      output.data('value: (empty)');
      break;
    case 'json':
      output.data(`value (JSON, ${preview.bytes} bytes):`);
      // JSON.stringify escapes C0 controls, not C1 ones or line separators.
      output.data(printableLines(JSON.stringify(preview.json, null, 2)));
      break;
    case 'text':
      output.data(`value (text, ${preview.bytes} bytes):`);
      output.data(printableLines(preview.text));
      break;
    case 'binary':
      output.data(`value (not UTF-8 text, ${preview.bytes} bytes${preview.truncated ? ', first 256 shown' : ''}):`);
      output.data(`  hex:  ${preview.hex}`);
      output.data(`  text: ${printableBytes((letter.value ?? Buffer.alloc(0)).subarray(0, 256))}`);
      break;
    default: {
      const never: never = preview;
      throw new Error(`unexpected preview ${JSON.stringify(never)}`);
    }
  }
}

/** What `errors redrive` sent (or would send), grouped by reason and topic, and what it skipped. */
export function renderRedrive(output: Output, report: RedriveReport, ledger: string): void {
  if (report.selected === 0) {
    output.data(`no letters in '${report.topic}' match: nothing to re-drive`);
    return;
  }
  const count = report.redriven.length;
  const letters = report.selectedLetters === report.selected ? '' : ` (${report.selectedLetters} letters: each event is sent once)`;
  output.data(
    report.dryRun
      ? `dry run: would re-drive ${count} of ${report.selected} selected events${letters} (nothing sent)`
      : `re-drove ${count} of ${report.selected} selected events${letters} to their original topics`,
  );
  if (count > 0) {
    const groups = new Map<string, { reason: string; to: string; count: number }>();
    for (const item of report.redriven) {
      const key = `${item.reason}\u0000${item.to ?? '-'}`;
      const group = groups.get(key) ?? { reason: item.reason, to: item.to ?? '-', count: 0 };
      group.count += 1;
      groups.set(key, group);
    }
    output.data(
      renderTable(
        [...groups.values()],
        [
          { header: 'reason', value: (g) => g.reason },
          { header: 'to topic', value: (g) => g.to },
          { header: 'events', value: (g) => g.count, align: 'right' },
        ],
        output,
      ),
    );
  }
  const skipped = (why: string) => report.skipped.filter((item) => item.why === why);
  const already = skipped('already_redriven');
  if (already.length > 0) output.info(`skipped ${already.length} already re-driven (see MongoDB collection '${ledger}'; --force sends them again)`);
  const noTopic = skipped('no_original_topic');
  if (noTopic.length > 0) output.warn(`skipped ${noTopic.length} without an x-original-topic header (nowhere to send them): ${noTopic.map((i) => i.id).join(', ')}`);
  const absent = skipped('original_topic_missing');
  if (absent.length > 0) {
    const topics = [...new Set(absent.map((item) => item.to))].join(', ');
    output.warn(`skipped ${absent.length} whose original topic does not exist (${topics}); create it with \`shopctl topics create\``);
  }
  for (const [reason, n] of Object.entries(report.willFailAgain)) {
    output.warn(`${n} event${n === 1 ? '' : 's'} with reason '${reason}' will be dead-lettered again unless the producer is fixed`);
  }
  if (!report.dryRun && count > 0) output.info('run `shopctl consume` to project them');
}
