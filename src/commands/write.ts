import { refusalSuggestion } from '../domain/refusals.js';
import { ExitCode, ShopctlError } from '../errors.js';
import type { Context } from '../services/context.js';
import { explainWriteFailure, pump } from '../services/pump.js';
import { openSink, type Chunk, type EventSink, type SinkTotals } from '../services/sinks.js';
import { createProgress, formatRate } from '../ui/progress.js';
import { printWriteSummary, type WriteSummary } from '../ui/write-summary.js';
import type { Via } from './shared.js';

export interface WriteRun {
  what: string;
  via: Via;
  total: number;
  chunks: Iterable<Chunk> | AsyncIterable<Chunk>;
  rate?: number | undefined;
  json: boolean;
  /** Whether running the command again makes the same events (seeded): said when a service is lost. */
  repeatable?: boolean;
}

// The shared body of every generating command: open the sink, pump with progress, summarise.
// Exit 0 when everything was written; 3 when the db path refused some events or some reused an
// id applied before with other content; 4 when a service went away in the middle (with how much
// was written before).
export async function writeEvents(context: Context, run: WriteRun): Promise<number> {
  const sink = await openSink(context, run.via);
  const progress = run.json ? null : createProgress(context.output, `${run.what}: 0/${run.total}`);
  let failed = false;
  try {
    const result = await pump(run.chunks, sink, {
      rate: run.rate,
      onProgress: (count, elapsed) => progress?.update(`${run.what}: ${count}/${run.total} (${formatRate(count, elapsed)})`),
    });
    progress?.stop();
    const totals = sink.totals();
    const [only] = totals.rejected;
    // One named change refused on the db path is an error, not a partial success.
    if (run.total === 1 && only) {
      throw new ShopctlError(`Refused: ${only.message}`, {
        code: only.reason.toUpperCase(),
        suggestion: refusalSuggestion(only.reason),
      });
    }
    const summary = writeSummary(run, sink, totals, result.elapsedMs);
    printWriteSummary(context.output, summary, run.json);
    return writeExitCode(summary);
  } catch (error) {
    failed = true;
    progress?.fail(`${run.what}: failed`);
    const totals = sink.totals();
    throw explainWriteFailure(error, context.config, {
      via: run.via,
      written: totals.written,
      duplicates: totals.duplicates,
      total: run.total,
      repeatable: run.repeatable ?? false,
    });
  } finally {
    // After a lost service, closing may fail too: the first failure is the one to report.
    await (failed ? sink.close().catch(() => undefined) : sink.close());
  }
}

export function writeSummary(run: Pick<WriteRun, 'what' | 'via'>, sink: Pick<EventSink, 'target'>, totals: SinkTotals, elapsedMs: number): WriteSummary {
  return {
    what: run.what,
    via: run.via,
    target: sink.target,
    count: totals.written,
    elapsedMs,
    duplicates: totals.duplicates,
    rejected: totals.rejected.map((r) => ({ id: r.event.id, reason: r.reason, message: r.message })),
    conflicts: totals.conflicts.map((c) => ({ id: c.event.id, message: c.message })),
  };
}

/** 0 all written (or written before); 3 when some were refused or reused an id with other content. */
export function writeExitCode(summary: Pick<WriteSummary, 'rejected' | 'conflicts'>): number {
  return summary.rejected.length > 0 || summary.conflicts.length > 0 ? ExitCode.partial : ExitCode.ok;
}
