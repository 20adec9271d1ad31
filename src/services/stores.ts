import { setTimeout as sleep } from 'node:timers/promises';
import { findStores, stockLines } from '../db/store-store.js';
import { availableToPromise, freshnessOf, instantOf, type FreshnessState } from '../domain/availability.js';
import { createEvent } from '../domain/events.js';
import type { Context } from './context.js';
import { context as eventContext } from './make.js';
import { rulesOf } from './projection-settings.js';
import { explainWriteFailure } from './pump.js';
import { createRuntime } from './runtime.js';
import { openSink } from './sinks.js';

// A store's side of freshness (`store heartbeat`) and the central view of it (`stores`).

export interface HeartbeatRun {
  store: string;
  everyMs: number;
  /** Stop after this many; undefined: until the signal. */
  count?: number | undefined;
  via: 'db' | 'kafka';
  signal: AbortSignal;
  /** Once the sink is open: where the heartbeats go. */
  onStart?: (target: string) => void;
  /** After each heartbeat was written (db) or acknowledged by Kafka. */
  onBeat?: (beat: { n: number; time: string; id: string }) => void;
}

export interface HeartbeatResult {
  store: string;
  via: 'db' | 'kafka';
  target: string;
  sent: number;
  everyMs: number;
  elapsedMs: number;
  /** The signal stopped it (rather than --count). */
  interrupted: boolean;
}

/**
 * Sends `shop.store.heartbeat.v1` for one store every `everyMs` (the first at once), through
 * the same sink as stock changes: the inventory topic keyed by the store (--via kafka), or the
 * projection (--via db). Each has a random id and the current time: every heartbeat is a new
 * fact, and the projection keeps the newest. The schedule is kept against the start time, so
 * a slow send does not push every later heartbeat back. Stops after `count`, or between
 * heartbeats once the signal is aborted.
 */
export async function sendHeartbeats(context: Context, run: HeartbeatRun): Promise<HeartbeatResult> {
  const runtime = createRuntime(null);
  const ids = runtime.ids('store heartbeat');
  const sink = await openSink(context, run.via);
  const start = Date.now();
  let sent = 0;
  let failed = false;
  try {
    run.onStart?.(sink.target);
    while (!run.signal.aborted && (run.count === undefined || sent < run.count)) {
      const event = createEvent('shop.store.heartbeat.v1', { store: run.store }, eventContext(runtime, ids()));
      await sink.write([event]);
      const [rejected] = sink.totals().rejected;
      if (rejected) throw new Error(`heartbeat refused: ${rejected.message}`);
      sent += 1;
      run.onBeat?.({ n: sent, time: event.time, id: event.id });
      if (run.count !== undefined && sent >= run.count) break;
      const wait = start + sent * run.everyMs - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal: run.signal }).catch(() => undefined);
    }
  } catch (error) {
    failed = true;
    throw explainWriteFailure(error, context.config, { via: run.via, written: sent, repeatable: true, rerun: 'start the heartbeat again' });
  } finally {
    await (failed ? sink.close().catch(() => undefined) : sink.close());
  }
  return {
    store: run.store,
    via: run.via,
    target: sink.target,
    sent,
    everyMs: run.everyMs,
    elapsedMs: Date.now() - start,
    interrupted: run.signal.aborted && (run.count === undefined || sent < run.count),
  };
}

export interface StoreDefinition {
  store: string;
  capacity?: number | undefined;
  lat?: number | undefined;
  lon?: number | undefined;
  city?: string | undefined;
}

/** One `shop.store.defined.v1` with the fields given (at least one besides the store). */
export function storeDefinitionEvent(definition: StoreDefinition) {
  const runtime = createRuntime(null);
  const data = Object.fromEntries(Object.entries(definition).filter(([, value]) => value !== undefined)) as StoreDefinition;
  return createEvent('shop.store.defined.v1', data, eventContext(runtime, runtime.ids('stores define')()));
}

/** A row of `stores`. */
export interface StoreRow {
  store: string;
  /** The time of its newest heartbeat (the store's clock); null: it never sent one. */
  lastHeartbeat: string | null;
  /** Milliseconds since then; null: never. */
  ageMs: number | null;
  freshness: FreshnessState;
  /** The newest `updatedAt` of its stock documents; null: it has none. */
  lastStockChange: string | null;
  skus: number;
  onHand: number;
  pending: number;
  /** The sum of its SKUs' available-to-promise (its safety margin applied to each). */
  available: number;
  /** From its definition (`stores add|set`); null: never defined. */
  capacity: number | null;
  city: string | null;
}

export interface StoresView {
  stores: StoreRow[];
  staleAfterMs: number;
  at: string;
}

const order: Record<FreshnessState, number> = { stale: 0, fresh: 1, unknown: 2 };

/**
 * Every store the central view knows: those that heartbeat and those that only have stock.
 * Stale ones first (what needs looking at), then fresh, then those that never heartbeat; by id
 * within each. The stock figures are summed when read, not kept on the hot path.
 */
export async function storesView(context: Context, now = new Date()): Promise<StoresView> {
  const { db } = await context.database();
  const rules = rulesOf(context.config);
  const [heard, lines] = await Promise.all([findStores(db), stockLines(db)]);
  const rows = new Map<string, StoreRow>();
  const rowOf = (store: string): StoreRow => {
    let row = rows.get(store);
    if (!row) {
      row = { store, lastHeartbeat: null, ageMs: null, freshness: 'unknown', lastStockChange: null, skus: 0, onHand: 0, pending: 0, available: 0, capacity: null, city: null };
      rows.set(store, row);
    }
    return row;
  };
  for (const { _id, lastHeartbeat, capacity, city } of heard) {
    const row = rowOf(_id);
    const freshness = freshnessOf(lastHeartbeat, now, rules.staleAfterMs);
    Object.assign(row, { lastHeartbeat: lastHeartbeat ?? null, ageMs: freshness.ageMs, freshness: freshness.state, capacity: capacity ?? null, city: city ?? null });
  }
  for (const line of lines) {
    const row = rowOf(line.store);
    row.skus += 1;
    row.onHand += line.level;
    row.pending += line.pending;
    row.available += availableToPromise(line.level, line.pending, rules.marginFor(line.store));
    if (row.lastStockChange === null || instantOf(line.updatedAt) > instantOf(row.lastStockChange)) row.lastStockChange = line.updatedAt;
  }
  const stores = [...rows.values()].sort((a, b) => order[a.freshness] - order[b.freshness] || (a.store < b.store ? -1 : a.store > b.store ? 1 : 0));
  return { stores, staleAfterMs: rules.staleAfterMs, at: now.toISOString() };
}
