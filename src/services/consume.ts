import { startProjector, type ProjectorOptions, type ProjectorTotals, type RunningProjector } from '../kafka/projector-consumer.js';
import type { ShopEvent } from '../domain/events.js';
import { logger } from '../log.js';
import type { Context } from './context.js';
import { projectionOn } from './projection.js';
import { projectionSettings } from './projection-settings.js';
import { sweepReservations, type SweepResult } from './reservations.js';

/** An expiry published but not applied after this long (a lost send?) is published again. */
const REPUBLISH_AFTER_MS = 60_000;

export type { ProjectorTotals, RunningProjector };

export type ConsumeOptions = Pick<ProjectorOptions, 'groupId' | 'fromBeginning' | 'untilIdleMs' | 'maxEvents' | 'onProgress'> & {
  /** After each applied batch, the events it applied (in order): `serve --consume` streams them. */
  onApplied?: (events: ShopEvent[]) => void;
};

export interface Consuming extends RunningProjector {
  /**
   * The events this run left refused, each once, with the reason of its last refusal: refused
   * and not applied by a later attempt (dead-lettered, or waiting in the retry topic when the run
   * stopped). Messages that are not readable events are dead-lettered without being refused.
   */
  refusals(): Map<string, string>;
  /** Expiries this run's sweeps published (applied, releasing their holds, as they are consumed). */
  expired(): number;
}

const log = logger.namespace('sweep');

/** `consume`: the Kafka consumer loop feeding the projection service, over the configured database. */
export async function startConsuming(context: Context, options: ConsumeOptions): Promise<Consuming> {
  const database = await context.database();
  const settings = projectionSettings(context.config);
  const projection = projectionOn(database, { rules: settings.rules });
  // By event id, the reason of its latest refusal; dropped once an attempt applies it (or finds
  // it applied). Kafka delivers at least once and retries come back: an event counts once.
  const refused = new Map<string, string>();
  const projector = await startProjector({
    ...options,
    kafka: context.kafka(),
    config: context.config,
    apply: async (inputs, applyOptions) => {
      const result = await projection.apply(inputs, applyOptions);
      const applied: ShopEvent[] = [];
      result.outcomes.forEach((outcome, index) => {
        const event = inputs[index]?.event;
        if (event === undefined) return;
        if (outcome.status === 'rejected') refused.set(event.id, outcome.reason);
        else refused.delete(event.id);
        if (outcome.status === 'applied' && !outcome.unchanged) applied.push(event);
      });
      if (applied.length > 0) options.onApplied?.(applied);
      return result;
    },
  });
  // Expiries go through the reservations topic, keyed by the store, like every other step of a
  // reservation: applied in the store's order (a fulfilment sent before the expiry is applied
  // before it), seen by every consumer of the topics, and never written to this database's
  // outbox. One published lately is not published again while it waits to be applied.
  const published = new Map<string, number>();
  const sweeper = startSweeper(async () => {
    const now = Date.now();
    for (const [id, at] of published) if (now - at > REPUBLISH_AFTER_MS) published.delete(id);
    const result = await sweepReservations(context, 'kafka', new Date(now), (id) => published.has(id));
    for (const id of result.ids) published.set(id, now);
    return result;
  }, context.config.availability.sweepSeconds * 1000);
  // The sweep stops (its round in flight finished) before `done` resolves: the caller then
  // closes the database under no one.
  const done = projector.done.then(
    async (totals) => {
      await sweeper.stop();
      return totals;
    },
    async (error: unknown) => {
      await sweeper.stop();
      throw error;
    },
  );
  return Object.assign(projector, { done, refusals: () => new Map(refused), expired: () => sweeper.expired() });
}

export interface Sweeper {
  /** Stops the timer and waits for a round in flight. */
  stop(): Promise<void>;
  expired(): number;
}

/**
 * Looks for overdue reservations when `consume` starts and every `everyMs` while it runs, and
 * publishes their expiries (ids of their own: several consumers sweeping at once expire each hold
 * once). One round at a time; a failed round (a blip) is logged and the next one tries again.
 */
export function startSweeper(sweep: () => Promise<SweepResult>, everyMs: number): Sweeper {
  let expired = 0;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const round = async (): Promise<void> => {
    try {
      const result = await sweep();
      expired += result.expired;
      if (result.expired > 0) log.info('published the expiries of overdue reservations', { published: result.expired, due: result.due });
    } catch (error) {
      log.warn('sweep failed; the next round tries again', { error: error instanceof Error ? error.message : String(error) });
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().then(schedule);
    }, everyMs);
    timer.unref();
  };
  // A first round at once: a short run (`consume --until-idle 2`) expires what is overdue too.
  running = round().then(schedule);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    expired: () => expired,
  };
}
