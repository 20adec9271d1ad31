// Entry of the generator thread started by `purchasesInThread` (see purchase-thread.ts): makes
// random purchases exactly as `randomPurchaseEvents` / `stockAwarePurchaseEvents` do in-process, serialises them, and posts
// them a chunk at a time, never more than `ahead` chunks before the main thread asks for more.
import { parentPort, workerData } from 'node:worker_threads';
import { routeOf } from '../domain/routing.js';
import { encodeEvent } from '../kafka/codec.js';
import { randomPurchaseEvents, stockAwarePurchaseEvents, type RunReport } from './buy.js';
import type { ThreadMessage, ThreadParams } from './purchase-thread.js';
import { createRuntime } from './runtime.js';

const port = parentPort;
if (!port) throw new Error('purchase-worker.ts runs as a worker thread only');
const params = workerData as ThreadParams;
const runtime = createRuntime(params.seed);
const report: RunReport = { made: 0, ranOut: false };
const chunks = params.stock
  ? stockAwarePurchaseEvents(runtime, params.catalog, params.stock, params.options, report)
  : randomPurchaseEvents(runtime, params.catalog, params.options);
let credit = params.ahead;

function post(message: ThreadMessage): void {
  port?.postMessage(message);
}

function produce(): void {
  while (credit > 0) {
    const next = chunks.next();
    if (next.done) {
      post({ kind: 'end', made: params.stock ? report.made : params.options.count, ranOut: report.ranOut });
      return;
    }
    const [first] = next.value;
    if (!first) continue;
    credit -= 1;
    const stream = routeOf(first).stream;
    const keys: string[] = [];
    const values: string[] = [];
    const ids: string[] = [];
    for (const event of next.value) {
      if (event.type !== first.type || routeOf(event).stream !== stream) throw new Error('generator thread: a chunk mixes event types');
      const message = encodeEvent(event);
      keys.push(message.key as string);
      values.push(message.value as string);
      ids.push(event.id);
    }
    post({ kind: 'chunk', stream, type: first.type, keys, values, ids });
  }
}

port.on('message', () => {
  credit += 1;
  produce();
});
produce();
