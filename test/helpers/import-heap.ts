// Run by test/unit/import-memory.unit.test.ts in a child process started with --expose-gc:
//   node --expose-gc --import tsx test/helpers/import-heap.ts FILE [--keep]
// Imports FILE with importFile into a sink that counts the events and drops them (with --keep,
// one that keeps them: what an importer that accumulates rows would do, to show the measure
// sees it), collecting garbage and sampling the live heap after every chunk. Prints one JSON line.
import type { ShopEvent } from '../../src/domain/events.js';
import { importFile } from '../../src/services/import.js';
import { isEncoded, type EventSink, type SinkTotals } from '../../src/services/sinks.js';

const gc = (globalThis as { gc?: () => void }).gc;
const [file, mode] = process.argv.slice(2);
if (!gc || file === undefined) {
  process.stderr.write('usage: node --expose-gc --import tsx test/helpers/import-heap.ts FILE [--keep]\n');
  process.exit(2);
}

const live = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

const kept: ShopEvent[] = [];
const totals = { written: 0, duplicates: 0, rejected: [], conflicts: [] } as unknown as SinkTotals;
const sink: EventSink = {
  via: 'db',
  target: 'counting sink',
  write: (chunk) => {
    if (isEncoded(chunk)) throw new Error('events only');
    totals.written += chunk.length;
    if (mode === '--keep') kept.push(...chunk);
    return Promise.resolve();
  },
  totals: () => totals,
  close: () => Promise.resolve(),
};

const baseline = live();
let peak = baseline;
let samples = 0;
const summary = await importFile(file, {
  via: 'db',
  sink,
  errors: null,
  onProgress: () => {
    samples += 1;
    peak = Math.max(peak, live());
  },
});
peak = Math.max(peak, live());
process.stdout.write(`${JSON.stringify({ baseline, peak, samples, rows: summary.rows, written: summary.written, kept: kept.length })}\n`);
