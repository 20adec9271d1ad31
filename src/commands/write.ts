import { refusalSuggestion } from '../domain/refusals.js';
import { ExitCode, ShopctlError } from '../errors.js';
import type { Context } from '../services/context.js';
import { explainWriteFailure, pump } from '../services/pump.js';
import { openSink, type Chunk, type EventSink, type SinkTotals } from '../services/sinks.js';
import { createProgress, formatRate, type Progress } from '../ui/progress.js';
import { printConflictWarning, printWriteSummary, writeSummaryJson, type WriteSummary } from '../ui/write-summary.js';
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
  /** The --json summary, when it counts something other than events (make products: products). */
  toJson?: (summary: WriteSummary) => object;
}

// The shared body of every generating command: open the sink, pump with progress, summarise.
// Exit 0 when everything was written; 3 when the db path refused some events or some reused an
// id applied before with other content; 4 when a service went away in the middle (with how much
// was written before); 130 when Ctrl-C or SIGTERM stopped it (see onInterrupt).
export async function writeEvents(context: Context, run: WriteRun): Promise<number> {
  const { output } = context;
  const stop = new AbortController();
  // Set once the sink is open, for the handlers below (they may run before that).
  const state: { sink: EventSink | null; progress: Progress | null } = { sink: null, progress: null };
  const verb = run.via === 'db' ? 'written' : 'published';
  const release = onInterrupt({
    first: () => {
      stop.abort();
      state.progress?.stop();
      output.info(`stopping after the chunk in flight (Ctrl-C again to stop at once)`);
    },
    again: () => {
      const written = state.sink?.totals().written ?? 0;
      output.warn(
        `interrupted again: stopped at once with ${written.toLocaleString('en-US')} of ${run.total.toLocaleString('en-US')} ${run.what} ${verb}; ` +
          `the chunk in flight may be ${verb} in part`,
      );
      process.exit(ExitCode.interrupted);
    },
  });
  try {
    state.sink = await openSink(context, run.via);
    return await writeTo(context, run, state.sink, stop.signal, (progress) => (state.progress = progress));
  } finally {
    release();
  }
}

async function writeTo(context: Context, run: WriteRun, sink: EventSink, signal: AbortSignal, show: (progress: Progress | null) => void): Promise<number> {
  const progress = run.json || signal.aborted ? null : createProgress(context.output, `${run.what}: 0/${run.total}`);
  show(progress);
  let failed = false;
  try {
    const result = await pump(run.chunks, sink, {
      rate: run.rate,
      signal,
      onProgress: (count, elapsed) => {
        if (!signal.aborted) progress?.update(`${run.what}: ${count}/${run.total} (${formatRate(count, elapsed)})`);
      },
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
    const summary: WriteSummary = {
      ...writeSummary(run, sink, totals, result.elapsedMs),
      ...(result.interrupted ? { interrupted: true as const, total: run.total } : {}),
    };
    if (run.json && run.toJson) {
      context.output.json(run.toJson(writeSummaryJson(summary)));
      printConflictWarning(context.output, summary.conflicts.length);
    } else {
      printWriteSummary(context.output, summary, run.json);
    }
    if (result.interrupted) {
      context.output.info(rerunHint(run, result.count));
      return ExitCode.interrupted;
    }
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

/** What running the command again does after an interruption (`done`: the events the sink took). */
function rerunHint(run: Pick<WriteRun, 'repeatable' | 'total'>, done: number): string {
  const rest = Math.max(0, run.total - done).toLocaleString('en-US');
  return run.repeatable
    ? `  run the same command again to finish the other ${rest}: the events already written have no second effect`
    : `  the other ${rest} were not made; without --seed a new run makes new events rather than these (--seed makes a run repeatable)`;
}

/**
 * Ctrl-C or SIGTERM while a command writes. The first stops it cleanly: no further chunk is
 * made, the one in flight is finished and counted, the summary says how far it got, exit 130.
 * A second one ends the process at once (exit 130). Returns the function that removes the handlers.
 */
export function onInterrupt(handlers: { first: () => void; again: () => void }): () => void {
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals === 1) handlers.first();
    else handlers.again();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
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
