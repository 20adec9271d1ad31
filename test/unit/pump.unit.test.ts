import { describe, expect, it } from 'vitest';
import type { ShopEvent } from '../../src/domain/events.js';
import { pump } from '../../src/services/pump.js';
import type { Chunk, EventSink, SinkTotals } from '../../src/services/sinks.js';
import type { Output } from '../../src/ui/output.js';
import { printWriteSummary, type WriteSummary } from '../../src/ui/write-summary.js';

// How a write stops on Ctrl-C / SIGTERM (the commands abort the pump's signal): the chunk on its
// way is finished and counted, nothing after it is sent, a wait for --rate ends at once.

const events = (n: number, from: number): ShopEvent[] => Array.from({ length: n }, (_, i) => ({ id: `e${from + i}` }) as unknown as ShopEvent);

/** A sink that records the chunks it took; `onWrite` runs as each write starts. */
function recordingSink(onWrite: (index: number) => void = () => undefined): EventSink & { taken: number[] } {
  const totals: SinkTotals = { written: 0, duplicates: 0, rejected: [], conflicts: [] };
  const taken: number[] = [];
  return {
    via: 'kafka',
    target: 'test',
    taken,
    async write(chunk: Chunk) {
      onWrite(taken.length);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const list = chunk as readonly ShopEvent[];
      taken.push(list.length);
      totals.written += list.length;
    },
    totals: () => totals,
    close: () => Promise.resolve(),
  };
}

describe('pump, interrupted', () => {
  it('finishes and counts the chunk in flight when aborted, sends no other, and closes the source', async () => {
    let made = 0;
    let closed = false;
    function* chunks(): Generator<ShopEvent[]> {
      try {
        for (let i = 0; i < 10; i += 1) {
          made += 1;
          yield events(100, i * 100);
        }
      } finally {
        closed = true;
      }
    }
    const stop = new AbortController();
    // Aborted while the third chunk is being written.
    const sink = recordingSink((index) => {
      if (index === 2) stop.abort();
    });
    const result = await pump(chunks(), sink, { signal: stop.signal });
    expect(result).toMatchObject({ count: 300, interrupted: true });
    expect(sink.taken).toEqual([100, 100, 100]);
    expect(sink.totals().written).toBe(300);
    expect(made).toBe(4); // the one made ahead of the third was dropped, none after it was made
    expect(closed).toBe(true);
  });

  it('is not interrupted when the signal never fires, nor when it fires after the last chunk', async () => {
    const stop = new AbortController();
    const sink = recordingSink();
    const result = await pump([events(5, 0), events(5, 5)], sink, { signal: stop.signal });
    expect(result).toMatchObject({ count: 10, interrupted: false });
    stop.abort();
    expect((await pump([], recordingSink(), { signal: stop.signal })).interrupted).toBe(false);
  });

  it('ends a wait for --rate at once', async () => {
    const stop = new AbortController();
    // One event a second: after the first chunk of 1 the pump waits about a second.
    const sink = recordingSink((index) => {
      if (index === 0) setTimeout(() => stop.abort(), 100);
    });
    const started = performance.now();
    const result = await pump([events(1, 0), events(1, 1), events(1, 2)], sink, { rate: 1, signal: stop.signal });
    expect(performance.now() - started).toBeLessThan(600);
    expect(result).toMatchObject({ count: 1, interrupted: true });
  });
});

describe('the summary of an interrupted write', () => {
  const summary: WriteSummary = {
    what: 'customers',
    via: 'kafka',
    target: '127.0.0.1:19092',
    count: 1000,
    elapsedMs: 500,
    duplicates: 0,
    rejected: [],
    conflicts: [],
  };
  const record = (): Output & { stdout: string[] } => {
    const stdout: string[] = [];
    return { isTty: false, color: false, stdout, data: (t) => stdout.push(t), json: (v) => stdout.push(JSON.stringify(v)), info: () => undefined, warn: () => undefined, error: () => undefined };
  };

  it('says how many of how many, and where', () => {
    const output = record();
    printWriteSummary(output, { ...summary, interrupted: true, total: 15_000 }, false);
    expect(output.stdout[0]).toBe('interrupted: 1,000 of 15,000 customers published to Kafka (127.0.0.1:19092) in 0.50s (2,000/s)');
    const db = record();
    printWriteSummary(db, { ...summary, via: 'db', target: 'shop', interrupted: true, total: 15_000 }, false);
    expect(db.stdout[0]).toBe("interrupted: 1,000 of 15,000 customers written into MongoDB database 'shop' in 0.50s (2,000/s)");
  });

  it('is the usual summary when not interrupted', () => {
    const output = record();
    printWriteSummary(output, summary, false);
    expect(output.stdout[0]).toBe('published 1000 customers to Kafka (127.0.0.1:19092) in 0.50s (2,000/s)');
  });

  it('--json carries interrupted and total', () => {
    const output = record();
    printWriteSummary(output, { ...summary, interrupted: true, total: 15_000 }, true);
    expect(JSON.parse(output.stdout[0]!)).toMatchObject({ count: 1000, interrupted: true, total: 15_000 });
  });
});
