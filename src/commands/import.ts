import path from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { IMPORT_HEADER } from '../domain/csv.js';
import { MAX_ID_LENGTH } from '../domain/events.js';
import { formatRange, LIMITS } from '../domain/limits.js';
import { ExitCode, isShopctlError, ShopctlError, UsageError } from '../errors.js';
import type { Context } from '../services/context.js';
import { checkImportFile, importFile, openErrorSink, type ErrorSink, type ImportProgress, type ImportSummary } from '../services/import.js';
import { FAILED_DIR, PROCESSED_DIR, watchDirectory, type WatchEvent } from '../services/import-watch.js';
import { explainWriteFailure } from '../services/pump.js';
import { openSink } from '../services/sinks.js';
import type { Output } from '../ui/output.js';
import { createProgress, formatRate, type Progress } from '../ui/progress.js';
import { renderPairs } from '../ui/table.js';
import { printConflictWarning } from '../ui/write-summary.js';
import { examples, flagField, run, viaField, viaOption } from './shared.js';

export const importOptionsSchema = z.object({
  via: viaField,
  dryRun: flagField,
  watch: z.string().optional(),
  json: flagField,
});
export type ImportOptions = z.infer<typeof importOptionsSchema>;

const format = `
File format (RFC 4180 CSV, UTF-8, optional BOM, LF or CRLF):
  ${IMPORT_HEADER.join(',')}
  4f9c1d2e-8a7b-4c3d-9e1f-2a3b4c5d6e7f,incoming,2026-01-31,berlin-1,SKU-42,120
  transaction_id  a UUID; the event id, so importing a row twice has no second effect
  event_type      incoming (goods received) or sale
  date            YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time (no offset: UTC)
  store_number    any text up to ${MAX_ID_LENGTH} characters (e.g. Store 12, münchen); no control
                  characters, '$', ':' or '/'
  item_number     any text up to ${MAX_ID_LENGTH} characters (e.g. SKU.1); no control characters or '$'
  value           a positive whole quantity (${formatRange(LIMITS.stockQuantity)})

Invalid rows go to the import-errors topic (\`shopctl errors list --topic import-errors\`) with
file, line, raw text and every reason. Exit codes: 0 all rows accepted, 3 some rows rejected
(or, with --via db, refused for lack of stock) or no rows at all (a header and nothing else),
2 an unusable file (missing, wrong header, not UTF-8), 4 a service unreachable.
Kafka is needed for the errors topic with either --via (not with --dry-run).

--watch polls DIR every second and takes a *.csv once its size and time stayed the same for one
poll (write elsewhere and rename into DIR to be safe); hidden files are ignored. Ctrl-C or
SIGTERM stops after the current chunk with exit 0; a file cut short stays in DIR and is imported
again on the next start, with no second effect.
`;

export function importCommand(): Command {
  return new Command('import')
    .description('import stock movements (incoming, sale) from a CSV file, or from each CSV dropped into a directory')
    .argument('[file]', 'the CSV file to import')
    .addOption(viaOption())
    .option('--dry-run', 'validate every row and print the summary; write nothing, connect to nothing')
    .option('--watch <dir>', `keep importing each new *.csv in DIR, then move it to DIR/${PROCESSED_DIR}/ (unusable files: DIR/${FAILED_DIR}/)`)
    .option('--json', 'print the summary as JSON (with --watch: one JSON line per file)')
    .addHelpText(
      'after',
      `${format}${examples(
        'shopctl import stock.csv                        # into MongoDB now',
        'shopctl import stock.csv --via kafka && shopctl consume --until-idle 5',
        'shopctl import stock.csv --dry-run --json       # validate only',
        'shopctl import --watch ./inbox --via kafka      # Ctrl-C to stop',
        'shopctl errors list --topic import-errors       # the rejected rows',
      )}`,
    )
    .action(
      run(importOptionsSchema, async (context, options, command) => {
        const [file] = command.args;
        if (options.watch !== undefined && file !== undefined) {
          throw new UsageError('Give either a FILE or --watch DIR, not both');
        }
        if (options.watch !== undefined) {
          if (options.dryRun) throw new UsageError('--dry-run checks one file; it cannot be combined with --watch');
          return watch(context, options.watch, options);
        }
        if (file === undefined) {
          throw new UsageError('Which file? Give a CSV file, or --watch DIR', { suggestion: 'shopctl import stock.csv (see shopctl import --help)' });
        }
        return importOne(context, file, options);
      }),
    );
}

async function importOne(context: Context, file: string, options: ImportOptions): Promise<number> {
  const { output } = context;
  // Ctrl-C or SIGTERM: finish the chunk in hand, report, and stop; the rest is imported by
  // running the same command again (rows already imported have no second effect). The handlers
  // are in place before the file is first opened, so a signal is never met by the default exit.
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const dryRun = options.dryRun;
  let errors: ErrorSink | null = null;
  let sink: Awaited<ReturnType<typeof openSink>> | null = null;
  let progress: Progress | null = null;
  try {
    // An unusable file is reported before any connection is made.
    await checkImportFile(file);
    progress = options.json ? null : createProgress(output, `importing ${file}…`);
    if (!dryRun) {
      errors = await openErrors(context);
      sink = await openSink(context, options.via);
    }
    const summary = await importFile(file, {
      via: options.via,
      sink,
      errors,
      signal: controller.signal,
      onProgress: (p) => progress?.update(progressText(file, p)),
    });
    progress?.stop();
    printSummary(output, summary, options.json, sink?.target ?? '');
    if (summary.interrupted) {
      output.warn(`stopped after ${summary.rows.read} rows: run the same import again to finish (what was imported has no second effect)`);
      return ExitCode.interrupted;
    }
    return exitCodeOf(summary);
  } catch (error) {
    progress?.fail(`importing ${file}: failed`);
    // A service lost mid-file: exit 4 naming it, with what was imported before (rows keep their ids).
    const totals = sink?.totals();
    throw explainWriteFailure(error, context.config, {
      via: options.via,
      written: totals?.written ?? 0,
      duplicates: totals?.duplicates ?? 0,
      repeatable: true,
      rerun: 'run the same import again',
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await sink?.close().catch(() => undefined);
    await errors?.close().catch(() => undefined);
  }
}

async function watch(context: Context, dir: string, options: ImportOptions): Promise<number> {
  const { output } = context;
  const json = options.json;
  const errors = await openErrors(context);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // One progress line per file being imported (a holder: it is set from callbacks).
  const ui: { progress: Progress | null } = { progress: null };
  try {
    if (!json) output.info(`watching ${dir} for *.csv files (--via ${options.via}); Ctrl-C to stop`);
    const totals = await watchDirectory(dir, {
      via: options.via,
      openSink: () => openSink(context, options.via),
      errors,
      signal: controller.signal,
      onProgress: (file, p) => {
        if (json) return;
        ui.progress ??= createProgress(output, progressText(file, p));
        ui.progress.update(progressText(file, p));
      },
      onEvent: (event) => {
        ui.progress?.stop();
        ui.progress = null;
        printWatchEvent(output, event, json);
      },
    });
    if (!json) output.info(`stopped: ${totals.imported} files imported, ${totals.failed} unusable`);
    return ExitCode.ok;
  } finally {
    ui.progress?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await errors.close().catch(() => undefined);
  }
}

// The errors topic is on Kafka whichever path the rows take: say so when Kafka is not there.
async function openErrors(context: Context): Promise<ErrorSink> {
  try {
    return await openErrorSink(context.kafka(), context.config);
  } catch (error) {
    if (!isShopctlError(error) || error.code !== 'KAFKA_UNAVAILABLE') throw error;
    throw new ShopctlError(`${error.message}: it holds the import-errors topic, needed with --via db too`, {
      code: error.code,
      exitCode: error.exitCode,
      suggestion: `${error.suggestion ?? ''} To check a file without any service: shopctl import FILE --dry-run`.trim(),
      cause: error,
    });
  }
}

/**
 * 0 when every row took effect or had already; 3 when some were rejected, refused, or reused a
 * transaction id with other content, or when the file had no rows (nothing to import is bad
 * input, not success: an export that lost its rows must not pass unnoticed).
 */
export function exitCodeOf(summary: ImportSummary): number {
  if (summary.rows.read === 0 && !summary.interrupted) return ExitCode.partial;
  return summary.rows.rejected > 0 || summary.refused > 0 || summary.conflicts > 0 ? ExitCode.partial : ExitCode.ok;
}

function progressText(file: string, p: ImportProgress): string {
  const percent = p.totalBytes > 0 ? Math.min(100, Math.floor((p.bytes * 100) / p.totalBytes)) : 100;
  return `importing ${file}: ${percent}% · ${p.rows.toLocaleString('en-US')} rows (${formatRate(p.rows, p.elapsedMs)})`;
}

const byReason = (counts: Record<string, number>): Array<[string, number]> =>
  Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));

function printSummary(output: Output, summary: ImportSummary, json: boolean, target: string): void {
  if (json) {
    output.json({ ...summary, exitCode: exitCodeOf(summary) });
    printConflictWarning(output, summary.conflicts);
    return;
  }
  const seconds = (summary.elapsedMs / 1000).toFixed(2);
  const rate = formatRate(summary.rows.read, summary.elapsedMs);
  const where = summary.dryRun ? 'checked (dry run: nothing written)' : summary.via === 'db' ? `into MongoDB database '${target}'` : `to Kafka (${target})`;
  output.data(`${summary.path}: ${summary.rows.read} rows ${where} in ${seconds}s (${rate})`);
  const pairs: Array<[string, string | number]> = [
    ['rows read', summary.rows.read],
    ['accepted', summary.rows.accepted],
  ];
  if (!summary.dryRun && summary.via === 'db') {
    pairs.push(['  applied now', summary.written]);
    pairs.push(['  already imported (no effect)', summary.duplicates]);
    pairs.push(['  refused by the projection', summary.refused]);
    if (summary.conflicts > 0) pairs.push(['  id reused, other content (not applied)', summary.conflicts]);
    for (const [code, count] of byReason(summary.refusedByReason)) pairs.push([`    ${code}`, count]);
  }
  if (!summary.dryRun && summary.via === 'kafka') pairs.push(['  published', summary.written]);
  pairs.push(['rejected', summary.rows.rejected]);
  for (const [code, count] of byReason(summary.rejectedByReason)) pairs.push([`  ${code}`, count]);
  output.data(renderPairs(pairs, output));
  if (Object.keys(summary.rejectedByReason).length > 1) output.data('(a row with several reasons counts under each)');
  if (summary.refused > 0) {
    output.data('Refused rows are valid rows the projection did not apply (counted under accepted); import them again once the stock is there.');
  }
  for (const sample of summary.samples) output.data(`  line ${sample.line}: ${sample.reasons.join('; ')}`);
  const problems = summary.rows.rejected + summary.refused + summary.conflicts;
  if (problems > summary.samples.length) output.data(`  … and ${problems - summary.samples.length} more`);
  if (summary.errorsSent > 0 && summary.errorsTopic) {
    output.data(`${summary.errorsSent} rows sent to '${summary.errorsTopic}': shopctl errors list --topic import-errors`);
  }
  if (summary.rows.read === 0) output.warn(`no rows: ${summary.path} has the header and nothing else`);
  else if (summary.dryRun && problems === 0) output.data('all rows valid');
  if (!summary.dryRun && summary.via === 'kafka' && summary.written > 0) output.data('run `shopctl consume` to project them into MongoDB');
  printConflictWarning(output, summary.conflicts);
}

function printWatchEvent(output: Output, event: WatchEvent, json: boolean): void {
  switch (event.kind) {
    case 'imported': {
      const { summary } = event;
      if (json) return output.data(JSON.stringify({ event: event.kind, movedTo: event.movedTo, ...summary, exitCode: exitCodeOf(summary) }));
      const rejected = byReason(summary.rejectedByReason).map(([code, count]) => `${code} ${count}`);
      const parts = [
        `${summary.rows.read} rows`,
        `${summary.rows.accepted} accepted`,
        ...(summary.via === 'db' ? [`${summary.written} applied`, `${summary.duplicates} already imported`] : [`${summary.written} published`]),
        ...(summary.refused > 0 ? [`${summary.refused} refused`] : []),
        ...(summary.conflicts > 0 ? [`${summary.conflicts} not applied (transaction id reused with other content)`] : []),
        `${summary.rows.rejected} rejected${rejected.length > 0 ? ` (${rejected.join(', ')})` : ''}`,
      ];
      return output.data(`${summary.file}: ${parts.join(', ')} -> ${event.movedTo}`);
    }
    case 'failed':
      if (json) return output.data(JSON.stringify({ event: event.kind, file: path.basename(event.file), path: event.file, movedTo: event.movedTo, error: event.error.message }));
      return output.warn(`${event.error.message} -> ${event.movedTo}`);
    case 'retrying': {
      const message = event.error instanceof Error ? event.error.message : String(event.error);
      if (json) return output.data(JSON.stringify({ event: event.kind, file: path.basename(event.file), path: event.file, error: message, inMs: event.inMs }));
      return output.warn(`${event.file}: ${message}; trying again in ${Math.round(event.inMs / 1000)}s`);
    }
    case 'interrupted':
      if (json) return output.data(JSON.stringify({ event: event.kind, file: event.summary.file, path: event.file, rows: event.summary.rows }));
      return output.info(`${event.file}: stopped after ${event.summary.rows.read} rows; left in place, imported again on the next start (no second effect)`);
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}
