import { Command, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import {
  findLetter,
  groupByReason,
  headersText,
  isRetriableReason,
  letterNotFound,
  letterSources,
  listLetters,
  originOf,
  parseLetterId,
  previewValue,
  redriveLetters,
  REDRIVEN_COLLECTION,
  sourceTopic,
  summaryOf,
  type LetterRecord,
  type LetterSource,
  type LetterSummary,
  type ParsedLetterId,
  type ReasonGroup,
  type RedriveReport,
} from '../kafka/dead-letter-reader.js';
import type { Context } from '../services/context.js';
import type { Output } from '../ui/output.js';
import { renderPairs, renderTable } from '../ui/table.js';
import { examples, positiveInt, run, sinceOf } from './shared.js';

type TopicChoice = LetterSource | 'all';

interface ListOptions {
  reason?: string;
  since?: string;
  topic: TopicChoice;
  limit: number;
  json?: boolean;
}

interface ShowOptions {
  topic: LetterSource;
  json?: boolean;
}

interface RedriveOptions {
  reason?: string;
  since?: string;
  all?: boolean;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

const idHelp = 'A letter id is <partition>:<offset> of its record in the dead-letter (or import-errors) topic, e.g. 0:12.';

function letterIdOf(raw: string): ParsedLetterId {
  const id = parseLetterId(raw);
  if (!id) throw new UsageError(`'${raw}' is not a letter id`, { suggestion: `${idHelp} \`shopctl errors list\` shows them.` });
  return id;
}

const truncate = (text: string, max: number): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line || '-';
};

// Import errors are CSV rows, never re-driven: whatever their reason, the file is what to fix.
const retriableText = (group: ReasonGroup): string =>
  group.source === 'import-errors' ? 'no: fix the file' : isRetriableReason(group.reason) ? 'yes' : 'no: fix the producer';

const eventLabel = (letter: LetterSummary): string =>
  letter.eventType === null && letter.eventId === null ? '-' : [letter.eventType, letter.eventId].filter(Boolean).join(' ');

// ---------------------------------------------------------------------------------------------
// list

async function listAction(context: Context, options: ListOptions): Promise<void> {
  const { config, output } = context;
  const filter = { reason: options.reason, since: sinceOf(options.since, new Date()) };
  const sources = options.topic === 'all' ? letterSources : [options.topic];
  const { total, letters, missing } = await listLetters(context.kafka(), config, sources, filter);
  const byReason = groupByReason(letters);
  const shown = letters.slice(0, options.limit);
  const topics = sources.map((source) => ({ source, topic: sourceTopic(config, source), exists: !missing.includes(sourceTopic(config, source)) }));

  if (options.json) {
    output.json({
      topics,
      filter: { reason: options.reason ?? null, since: filter.since?.toISOString() ?? null },
      total,
      matched: letters.length,
      byReason,
      letters: shown,
      shown: shown.length,
    });
    return;
  }
  const names = topics.map((t) => `'${t.topic}'`).join(' and ');
  if (letters.length === 0) {
    const absent = topics.filter((t) => !t.exists).map((t) => `'${t.topic}'`);
    const why = absent.length > 0 ? ` (${absent.join(', ')} does not exist yet: nothing was rejected there)` : '';
    output.data(total === 0 ? `no letters in ${names}${why}` : `none of the ${total} letters in ${names} match`);
    return;
  }
  output.data(
    renderTable(
      byReason,
      [
        ...(options.topic === 'all' ? [{ header: 'topic', value: (g: ReasonGroup) => g.source }] : []),
        { header: 'reason', value: (g) => g.reason },
        { header: 'count', value: (g) => g.count, align: 'right' },
        { header: 'newest', value: (g) => g.newest },
        { header: 'oldest', value: (g) => g.oldest },
        { header: 'retriable', value: retriableText },
      ],
      { color: output.color },
    ),
  );
  const prefixed = options.topic === 'all';
  output.data(
    renderTable(
      shown,
      [
        { header: 'id', value: (l) => (prefixed ? `${l.source}/${l.id}` : l.id) },
        { header: 'time', value: (l) => l.time },
        { header: 'reason', value: (l) => l.reason },
        { header: 'from', value: (l) => truncate(originOf(l), 40) },
        { header: 'event', value: (l) => truncate(eventLabel(l), 48) },
        { header: 'message', value: (l) => truncate(l.message, 60) },
      ],
      { color: output.color },
    ),
  );
  const more = letters.length > shown.length ? ` (--limit ${letters.length} to see all)` : '';
  output.data(`${shown.length} of ${letters.length} letters${letters.length === total ? '' : ` matching (${total} in all)`}${more}`);
  output.info('`shopctl errors show ID` prints the whole record; `shopctl errors redrive` sends letters back.');
}

// ---------------------------------------------------------------------------------------------
// show

function showRecord(output: Output, letter: LetterRecord): void {
  const rows: Array<readonly [string, string | number]> = [
    ['id', letter.id],
    ['topic', `${letter.topic} [${letter.partition}] @${letter.offset}`],
    ['time', letter.time],
    ['reason', `${letter.reason}${letter.source === 'dlq' && !isRetriableReason(letter.reason) ? ' (fails again until the producer is fixed)' : ''}`],
    ['message', letter.message || '-'],
    ['from', originOf(letter)],
  ];
  if (letter.eventType !== null) rows.push(['event type', letter.eventType]);
  if (letter.eventId !== null) rows.push(['event id', letter.eventId]);
  if (letter.attempts > 0) rows.push(['retries before', letter.attempts]);
  rows.push(['key', letter.key === null ? '(none)' : letter.key.toString('utf8')]);
  output.data(renderPairs(rows, { color: output.color }));

  const headers = Object.entries(headersText(letter.headers));
  output.data('headers:');
  output.data(headers.length === 0 ? '  (none)' : renderPairs(headers, { color: output.color }));

  const preview = previewValue(letter.value);
  switch (preview.format) {
    case 'empty':
      output.data('value: (empty)');
      break;
    case 'json':
      output.data(`value (JSON, ${preview.bytes} bytes):`);
      output.data(JSON.stringify(preview.json, null, 2));
      break;
    case 'text':
      output.data(`value (text, ${preview.bytes} bytes):`);
      output.data(preview.text);
      break;
    case 'binary':
      output.data(`value (not UTF-8 text, ${preview.bytes} bytes${preview.truncated ? ', first 256 shown' : ''}):`);
      output.data(`  hex:  ${preview.hex}`);
      output.data(`  utf8: ${preview.utf8}`);
      break;
    default: {
      const never: never = preview;
      throw new Error(`unexpected preview ${JSON.stringify(never)}`);
    }
  }
}

async function showAction(context: Context, rawId: string, options: ShowOptions): Promise<void> {
  const { config, output } = context;
  const id = letterIdOf(rawId);
  const source = id.source ?? options.topic;
  const letter = await findLetter(context.kafka(), config, source, id);
  if (!letter) throw letterNotFound(sourceTopic(config, source), [`${id.partition}:${id.offset}`]);
  if (options.json) {
    output.json({
      ...summaryOf(letter),
      from: originOf(letter),
      retriable: letter.source === 'dlq' && isRetriableReason(letter.reason),
      key: letter.key === null ? null : letter.key.toString('utf8'),
      headers: headersText(letter.headers),
      value: previewValue(letter.value),
    });
    return;
  }
  showRecord(output, letter);
}

// ---------------------------------------------------------------------------------------------
// redrive

async function redriveAction(context: Context, rawIds: string[], options: RedriveOptions): Promise<number> {
  const { config, output } = context;
  const filtered = options.reason !== undefined || options.all === true;
  if (rawIds.length > 0 && (filtered || options.since !== undefined)) {
    throw new UsageError('Give either letter ids or --reason/--all (with --since), not both');
  }
  if (options.all && options.reason !== undefined) throw new UsageError('--all and --reason contradict each other: choose one');
  if (rawIds.length === 0 && !filtered) {
    throw new UsageError(
      options.since === undefined ? 'Say which letters to re-drive: --reason R, one or more ids, or --all' : '--since narrows --reason or --all: give one of them too',
      { suggestion: 'See `shopctl errors list` for reasons and ids; `--dry-run` shows what would be sent.' },
    );
  }
  const ids = rawIds.map((raw) => {
    const id = letterIdOf(raw);
    if (id.source === 'import-errors') {
      throw new UsageError(`'${raw}' is an import error: a CSV row, not an event`, { suggestion: 'Fix the file and import it again.' });
    }
    return id;
  });
  const now = new Date();
  const report = await redriveLetters({
    kafka: context.kafka(),
    config,
    db: (await context.database()).db,
    selection: ids.length > 0 ? { kind: 'ids', ids } : { kind: 'filter', filter: { reason: options.reason, since: sinceOf(options.since, now) } },
    dryRun: Boolean(options.dryRun),
    force: Boolean(options.force),
    now: () => new Date(),
  });
  const unsendable = report.skipped.filter((item) => item.why !== 'already_redriven').length;
  const code = unsendable > 0 && !report.dryRun ? ExitCode.partial : ExitCode.ok;
  if (options.json) {
    output.json(report);
    return code;
  }
  renderRedrive(output, report);
  return code;
}

function renderRedrive(output: Output, report: RedriveReport): void {
  if (report.selected === 0) {
    output.data(`no letters in '${report.topic}' match: nothing to re-drive`);
    return;
  }
  const count = report.redriven.length;
  output.data(
    report.dryRun
      ? `dry run: would re-drive ${count} of ${report.selected} selected letters (nothing sent)`
      : `re-drove ${count} of ${report.selected} selected letters to their original topics`,
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
          { header: 'letters', value: (g) => g.count, align: 'right' },
        ],
        { color: output.color },
      ),
    );
  }
  const skipped = (why: string) => report.skipped.filter((item) => item.why === why);
  const already = skipped('already_redriven');
  if (already.length > 0) output.info(`skipped ${already.length} already re-driven (see MongoDB collection '${REDRIVEN_COLLECTION}'; --force sends them again)`);
  const noTopic = skipped('no_original_topic');
  if (noTopic.length > 0) output.warn(`skipped ${noTopic.length} without an x-original-topic header (nowhere to send them): ${noTopic.map((i) => i.id).join(', ')}`);
  const absent = skipped('original_topic_missing');
  if (absent.length > 0) {
    const topics = [...new Set(absent.map((item) => item.to))].join(', ');
    output.warn(`skipped ${absent.length} whose original topic does not exist (${topics}); create it with \`shopctl topics create\``);
  }
  for (const [reason, n] of Object.entries(report.willFailAgain)) {
    output.warn(`${n} letter${n === 1 ? '' : 's'} with reason '${reason}' will be dead-lettered again unless the producer is fixed`);
  }
  if (!report.dryRun && count > 0) output.info('run `shopctl consume` to project them');
}

// ---------------------------------------------------------------------------------------------

export function errorsCommand(): Command {
  const errors = new Command('errors')
    .description('inspect the dead-letter and import-errors topics, and send dead letters back')
    .addHelpText(
      'after',
      `\n${idHelp}\n${examples(
        'shopctl errors list',
        'shopctl errors show 0:12',
        'shopctl errors redrive --reason unknown_reference --dry-run',
      )}`,
    );

  errors
    .command('list')
    .description('letters grouped by reason with counts, then the letters, newest first')
    .option('--reason <reason>', 'only letters with this reason (e.g. unknown_reference, insufficient_stock, invalid_json)')
    .option('--since <time>', 'only letters since an ISO date/time (2026-01-31, 2026-01-31T10:00Z) or for a duration back (15m, 2h, 1d)')
    .addOption(new Option('--topic <which>', 'which topic: the dead-letter topic, the CSV import errors, or both').choices(['dlq', 'import-errors', 'all']).default('dlq'))
    .option('-l, --limit <n>', 'at most this many letters in the table (the counts cover all)', positiveInt('--limit'), 20)
    .option('--json', 'print counts and letters as JSON (for scripts)')
    .addHelpText(
      'after',
      `\n${idHelp}\n${examples(
        'shopctl errors list',
        'shopctl errors list --reason insufficient_stock --since 2h',
        'shopctl errors list --topic import-errors --limit 50',
        "shopctl errors list --json | jq '.byReason'",
      )}`,
    )
    .action(run<ListOptions>((context, options) => listAction(context, options)));

  errors
    .command('show')
    .description('the whole record of one letter: headers, key, value, reason and where it came from')
    .argument('<id>', 'letter id: <partition>:<offset>, as `errors list` shows it')
    .addOption(new Option('--topic <which>', 'which topic the id is in').choices(['dlq', 'import-errors']).default('dlq'))
    .option('--json', 'print the record as JSON (value parsed when it is JSON)')
    .addHelpText('after', `\n${idHelp}\n${examples('shopctl errors show 0:12', 'shopctl errors show import-errors/1:7', 'shopctl errors show 2:40 --json | jq .value')}`)
    .action(run<ShowOptions>((context, options, command) => showAction(context, String(command.args[0]), options)));

  errors
    .command('redrive')
    .description('send dead letters back to the topic they came from (after the cause was fixed)')
    .argument('[ids...]', 'letter ids (<partition>:<offset>) to send back')
    .option('--reason <reason>', 'every letter with this reason')
    .option('--all', 'every letter in the dead-letter topic')
    .option('--since <time>', 'with --reason or --all: only letters since an ISO date/time or a duration (15m, 2h, 1d)')
    .option('--dry-run', 'show what would be sent; send nothing')
    .option('--force', 'send letters again that were re-driven before')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Sends the original key, value and headers (without the x-dlq-*, x-retry-* and x-original-*
headers, with x-redriven-from: <dlq topic>/<id>) to the letter's x-original-topic; the usual
partitioner places it by key. Nothing is sent without ids, --reason or --all.

Each re-driven letter is recorded in the MongoDB collection '${REDRIVEN_COLLECTION}' and skipped
next time unless --force is given. Sending one twice is harmless for the projection (events are
applied once by id), but it is noise. Letters whose reason does not clear up by itself
(invalid_json, invalid_envelope, invalid_data, unknown_type) are sent when asked for, with a
warning: they fail again until the producer is fixed. Exit code ${ExitCode.partial} when some selected letters
could not be sent (no original topic).

${idHelp}
${examples(
  'shopctl errors redrive --reason unknown_reference --dry-run',
  'shopctl errors redrive --reason insufficient_stock --since 1d',
  'shopctl errors redrive 0:12 2:40',
  'shopctl errors redrive --all --force --json',
)}`,
    )
    .action(run<RedriveOptions>((context, options, command) => redriveAction(context, command.args, options)));

  return errors;
}
