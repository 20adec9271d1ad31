import { startProjector, type ProjectorOptions, type ProjectorTotals, type RunningProjector } from '../kafka/projector-consumer.js';
import type { Context } from './context.js';
import { projectionOn } from './projection.js';
import { rulesOf } from './projection-settings.js';

export type { ProjectorTotals, RunningProjector };

export type ConsumeOptions = Pick<ProjectorOptions, 'groupId' | 'fromBeginning' | 'untilIdleMs' | 'maxEvents' | 'onProgress'>;

export interface Consuming extends RunningProjector {
  /**
   * The events this run left refused, each once, with the reason of its last refusal: refused
   * and not applied by a later attempt (dead-lettered, or waiting in the retry topic when the run
   * stopped). Messages that are not readable events are dead-lettered without being refused.
   */
  refusals(): Map<string, string>;
}

/** `consume`: the Kafka consumer loop feeding the projection service, over the configured database. */
export async function startConsuming(context: Context, options: ConsumeOptions): Promise<Consuming> {
  const projection = projectionOn(await context.database(), { rules: rulesOf(context.config) });
  // By event id, the reason of its latest refusal; dropped once an attempt applies it (or finds
  // it applied). Kafka delivers at least once and retries come back: an event counts once.
  const refused = new Map<string, string>();
  const projector = await startProjector({
    ...options,
    kafka: context.kafka(),
    config: context.config,
    apply: async (inputs, applyOptions) => {
      const result = await projection.apply(inputs, applyOptions);
      result.outcomes.forEach((outcome, index) => {
        const id = inputs[index]?.event.id;
        if (id === undefined) return;
        if (outcome.status === 'rejected') refused.set(id, outcome.reason);
        else refused.delete(id);
      });
      return result;
    },
  });
  return Object.assign(projector, { refusals: () => new Map(refused) });
}
