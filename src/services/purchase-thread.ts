import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Stream } from '../domain/routing.js';
import { eventMessage } from '../kafka/codec.js';
import type { EncodedChunk } from '../kafka/publisher.js';
import type { Catalog, GenerationOptions, RunReport, StockStart } from './buy.js';

/**
 * What the generator thread needs to make the same purchases `randomPurchaseEvents` (no `stock`)
 * or `stockAwarePurchaseEvents` (with the `stock` it starts from) would.
 */
export interface ThreadParams {
  /** The seed as the user gave it (null: a random run, with random ids). */
  seed: number | null;
  catalog: Catalog;
  options: GenerationOptions;
  stock?: StockStart | null;
  /** Chunks made ahead of the sender at most (bounds memory). */
  ahead: number;
}

export type ThreadMessage =
  | { kind: 'chunk'; stream: Stream; type: string; keys: string[]; values: string[]; ids: string[] }
  | { kind: 'end'; made: number; ranOut: boolean };

/**
 * Random purchases made and serialised on a second thread, so that generating and encoding
 * (a quarter of `buy`'s CPU time) runs beside kafkajs' request encoding instead of before it.
 * Yields the same events, in the same order, as the in-process generator with the same seed;
 * `report` gets how the run ended (purchases made, whether the stock ran out) at the end.
 * The thread starts at once (its start-up overlaps connecting to Kafka) but keeps the process
 * alive only while iterated; returning early, or failing, stops it.
 */
export function purchasesInThread(params: ThreadParams & { report?: RunReport }): AsyncIterable<EncodedChunk> {
  const { report, ...data } = params;
  const worker = startWorker(data);
  worker.unref();
  const inbox: ThreadMessage[] = [];
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  worker.on('message', (message: ThreadMessage) => {
    inbox.push(message);
    notify();
  });
  worker.on('error', (error) => {
    failure = new Error(`the purchase generator thread failed: ${error.message}`);
    notify();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`the purchase generator thread exited early (code ${code})`);
    notify();
  });
  async function* chunks(): AsyncGenerator<EncodedChunk> {
    worker.ref();
    try {
      for (;;) {
        const message = inbox.shift();
        if (!message) {
          if (failure) throw failure;
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (message.kind === 'end') {
          if (report) Object.assign(report, { made: message.made, ranOut: message.ranOut });
          return;
        }
        worker.postMessage('more');
        const messages = message.keys.map((key, index) => eventMessage(key, message.values[index] ?? '', message.ids[index] ?? '', message.type));
        yield { stream: message.stream, messages };
      }
    } finally {
      worker.removeAllListeners('exit');
      await worker.terminate();
    }
  }
  return { [Symbol.asyncIterator]: chunks };
}

function startWorker(params: ThreadParams): Worker {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './purchase-worker.ts' : './purchase-worker.js', import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: params });
  // Running from source under tsx (tests, `npm run shopctl`): Node 20 does not hand tsx's
  // loader to worker threads, so the thread registers it before loading its entry.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: params });
}
