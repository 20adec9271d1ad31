import { ExitCode, ShopctlError } from '../errors.js';
import type { Context } from '../services/context.js';
import { pump } from '../services/pump.js';
import { openSink, type Chunk } from '../services/sinks.js';
import { createProgress, formatRate } from '../ui/progress.js';
import { printWriteSummary } from '../ui/write-summary.js';
import type { Via } from './shared.js';

export interface WriteRun {
  what: string;
  via: Via;
  total: number;
  chunks: Iterable<Chunk> | AsyncIterable<Chunk>;
  rate?: number | undefined;
  json: boolean;
}

// The shared body of every generating command: open the sink, pump with progress, summarise.
// Exit 0 when everything was written, 3 when the db path refused some events.
export async function writeEvents(context: Context, run: WriteRun): Promise<number> {
  const sink = await openSink(context, run.via);
  const progress = run.json ? null : createProgress(context.output, `${run.what}: 0/${run.total}`);
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
        suggestion:
          only.reason === 'insufficient_stock'
            ? 'Receive goods first (`shopctl stock receive`), or check `shopctl list stock`.'
            : 'List what exists with `shopctl list customers` and `shopctl list products`.',
      });
    }
    printWriteSummary(
      context.output,
      {
        what: run.what,
        via: run.via,
        target: sink.target,
        count: totals.written,
        elapsedMs: result.elapsedMs,
        duplicates: totals.duplicates,
        rejected: totals.rejected.map((r) => ({ id: r.event.id, reason: r.reason, message: r.message })),
      },
      run.json,
    );
    return totals.rejected.length > 0 ? ExitCode.partial : ExitCode.ok;
  } catch (error) {
    progress?.fail(`${run.what}: failed`);
    throw error;
  } finally {
    await sink.close();
  }
}
