import { startProjector, type ProjectorOptions, type ProjectorTotals, type RunningProjector } from '../kafka/projector-consumer.js';
import type { Context } from './context.js';
import { projectionOn } from './projection.js';

export type { ProjectorTotals, RunningProjector };

export type ConsumeOptions = Pick<ProjectorOptions, 'groupId' | 'fromBeginning' | 'untilIdleMs' | 'maxEvents' | 'onProgress'>;

/** `consume`: the Kafka consumer loop feeding the projection service, over the configured database. */
export async function startConsuming(context: Context, options: ConsumeOptions): Promise<RunningProjector> {
  const projection = projectionOn(await context.database());
  return startProjector({
    ...options,
    kafka: context.kafka(),
    config: context.config,
    apply: (inputs, applyOptions) => projection.apply(inputs, applyOptions),
  });
}
