import { Command, Option } from 'commander';
import { z } from 'zod';
import { ExitCode, UsageError } from '../errors.js';
import { letterSources, originOf, parseLetterId, type ParsedLetterId } from '../domain/dead-letters.js';
import { previewValue } from '../domain/value-preview.js';
import {
  headersText,
  isRetriableReason,
  listDeadLetters,
  redriveLetters,
  REDRIVEN_COLLECTION,
  showDeadLetter,
  summaryOf,
} from '../services/dead-letters.js';
import type { Context } from '../services/context.js';
import { renderLetterList, renderLetterRecord, renderRedrive } from '../ui/dead-letters.js';
import { whileReading } from '../ui/progress.js';
import { examples, flagField, positiveIntField, rangeHelp, run, sinceOf } from './shared.js';

export const errorsListOptionsSchema = z.object({
  reason: z.string().optional(),
  since: z.string().optional(),
  topic: z.enum(['dlq', 'import-errors', 'all']).default('dlq'),
  limit: positiveIntField('--limit').default(20),
  json: flagField,
});
type ListOptions = z.infer<typeof errorsListOptionsSchema>;

export const errorsShowOptionsSchema = z.object({
  topic: z.enum(['dlq', 'import-errors']).default('dlq'),
  json: flagField,
});
type ShowOptions = z.infer<typeof errorsShowOptionsSchema>;

export const errorsRedriveOptionsSchema = z.object({
  reason: z.string().optional(),
  since: z.string().optional(),
  all: flagField,
  dryRun: flagField,
  force: flagField,
  json: flagField,
});
type RedriveOptions = z.infer<typeof errorsRedriveOptionsSchema>;

const idHelp = 'A letter id is <partition>:<offset> of its record in the dead-letter (or import-errors) topic, e.g. 0:12.';

function letterIdOf(raw: string): ParsedLetterId {
  const id = parseLetterId(raw);
  if (!id) throw new UsageError(`'${raw}' is not a letter id`, { suggestion: `${idHelp} \`shopctl errors list\` shows them.` });
  return id;
}

/** Kafka offsets are int64 strings in kafkajs; --json prints them as numbers (exact up to 2^53). */
function offsetsAsNumbers<T extends { offset: string; originalOffset: string | null }>(letter: T): Omit<T, 'offset' | 'originalOffset'> & { offset: number; originalOffset: number | null } {
  const original = letter.originalOffset !== null && /^\d+$/.test(letter.originalOffset) ? Number(letter.originalOffset) : null;
  return { ...letter, offset: Number(letter.offset), originalOffset: original };
}

// ---------------------------------------------------------------------------------------------
// list

async function listAction(context: Context, options: ListOptions): Promise<void> {
  const { config, output } = context;
  const filter = { reason: options.reason, since: sinceOf(options.since, new Date()) };
  const sources = options.topic === 'all' ? letterSources : [options.topic];
  const { topics, total, matchedLetters, entries, byReason } = await whileReading(output, 'reading dead letters…', () => listDeadLetters(context.kafka(), config, sources, filter), {
    quiet: options.json,
  });
  const shown = entries.slice(0, options.limit);

  if (options.json) {
    output.json({
      topics,
      filter: { reason: options.reason ?? null, since: filter.since?.toISOString() ?? null },
      total,
      // Events (one per event and reason; per letter where the event id is unreadable), not letters.
      matched: entries.length,
      matchedLetters,
      // `events` is the table's header; `count` is the same number, kept for existing scripts.
      byReason: byReason.map((group) => ({ ...group, events: group.count })),
      // The table's `event` column is `eventType` and `eventId` here; `from` is the same.
      letters: shown.map((letter) => ({ ...offsetsAsNumbers(letter), from: originOf(letter) })),
      shown: shown.length,
    });
    return;
  }
  renderLetterList(output, { topics, total, matchedLetters, entries, byReason }, { shown, allTopics: options.topic === 'all', retriable: isRetriableReason });
}

// ---------------------------------------------------------------------------------------------
// show

async function showAction(context: Context, rawId: string, options: ShowOptions): Promise<void> {
  const { config, output } = context;
  const id = letterIdOf(rawId);
  const source = id.source ?? options.topic;
  const letter = await showDeadLetter(context.kafka(), config, source, id);
  if (options.json) {
    output.json({
      ...offsetsAsNumbers(summaryOf(letter)),
      from: originOf(letter),
      retriable: letter.source === 'dlq' && isRetriableReason(letter.reason),
      key: letter.key === null ? null : letter.key.toString('utf8'),
      headers: headersText(letter.headers),
      value: previewValue(letter.value),
    });
    return;
  }
  renderLetterRecord(output, letter, { retriable: isRetriableReason });
}

// ---------------------------------------------------------------------------------------------
// redrive

async function redriveAction(context: Context, rawIds: string[], options: RedriveOptions): Promise<number> {
  const { config, output } = context;
  const filtered = options.reason !== undefined || options.all;
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
    dryRun: options.dryRun,
    force: options.force,
    now: () => new Date(),
  });
  const unsendable = report.skipped.filter((item) => item.why !== 'already_redriven').length;
  const code = unsendable > 0 && !report.dryRun ? ExitCode.partial : ExitCode.ok;
  if (options.json) {
    output.json(report);
    return code;
  }
  renderRedrive(output, report, REDRIVEN_COLLECTION);
  return code;
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
    .description('rejected events grouped by reason with counts, then the events, newest first (one row per event and reason)')
    .option('--reason <reason>', 'only letters with this reason (e.g. unknown_reference, insufficient_stock, invalid_json)')
    .option('--since <time>', 'only letters since an ISO date/time (2026-01-31, 2026-01-31T10:00Z) or for a duration back (15m, 2h, 1d)')
    .addOption(new Option('--topic <which>', 'which topic: the dead-letter topic, the CSV import errors, or both').choices(['dlq', 'import-errors', 'all']).default('dlq'))
    .addOption(new Option('-l, --limit <n>', rangeHelp('--limit', 'at most this many rows in the table (the counts cover all)')).default(20))
    .option('--json', 'print counts and letters as JSON (for scripts)')
    .addHelpText(
      'after',
      `
Kafka cannot take a letter back, so an event dead-lettered again (after a kill, a replay, or a
re-drive that failed again) has several letters. They are one row here, with the id of the
latest letter and how many letters it had; the counts are of events. A letter whose event id
cannot be read (bytes that are no event) and each CSV row of the import errors is a row of its own.

${idHelp}\n${examples(
        'shopctl errors list',
        'shopctl errors list --reason insufficient_stock --since 2h',
        'shopctl errors list --topic import-errors --limit 50',
        "shopctl errors list --json | jq '.byReason'",
      )}`,
    )
    .action(run(errorsListOptionsSchema, (context, options) => listAction(context, options)));

  errors
    .command('show')
    .description('the whole record of one letter: headers, key, value, reason and where it came from')
    .argument('<id>', 'letter id: <partition>:<offset>, as `errors list` shows it')
    .addOption(new Option('--topic <which>', 'which topic the id is in').choices(['dlq', 'import-errors']).default('dlq'))
    .option('--json', 'print the record as JSON (value parsed when it is JSON)')
    .addHelpText('after', `\n${idHelp}\n${examples('shopctl errors show 0:12', 'shopctl errors show import-errors/1:7', 'shopctl errors show 2:40 --json | jq .value')}`)
    .action(run(errorsShowOptionsSchema, (context, options, command) => showAction(context, String(command.args[0]), options)));

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
Sends each selected event once, however many letters it has (the letters of one event id are
one event, whatever their reasons): the latest letter's original key, value and headers (without
the x-dlq-*, x-retry-* and x-original-* headers, with x-redriven-from: <dlq topic>/<id>) go to
its x-original-topic; the usual partitioner places it by key. Nothing is sent without ids,
--reason or --all.

Every letter of a re-driven event is recorded in the MongoDB collection '${REDRIVEN_COLLECTION}';
an event all of whose letters were re-driven is skipped next time unless --force is given (a
letter written after a re-drive, because the event failed again, makes it eligible again).
Sending one twice is harmless for the projection (events are applied once by id), but it is
noise. Events whose reason does not clear up by itself (invalid_json, invalid_envelope,
invalid_data, unknown_type) are sent when asked for, with a warning: they fail again until the
producer is fixed. Exit code ${ExitCode.partial} when some selected events could not be sent (no original
topic, or it does not exist).

${idHelp}
${examples(
  'shopctl errors redrive --reason unknown_reference --dry-run',
  'shopctl errors redrive --reason insufficient_stock --since 1d',
  'shopctl errors redrive 0:12 2:40',
  'shopctl errors redrive --all --force --json',
)}`,
    )
    .action(run(errorsRedriveOptionsSchema, (context, options, command) => redriveAction(context, command.args, options)));

  return errors;
}
