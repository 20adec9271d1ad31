import type { Admin } from 'kafkajs';
import type { Cli, CliResult } from './cli.js';
import { throughput, type Throughput } from './workload.js';
import type { World } from './workspace.js';

// shopctl measured as a user runs it: the compiled CLI as a child process, its own --json
// summary for timings, its VmHWM for memory.

interface WriteSummaryJson {
  count: number;
  elapsedMs: number;
}

interface ConsumeJson {
  applied: number;
  duplicates: number;
  retried: number;
  deadLettered: number;
  batches: number;
  elapsedMs: number;
}

export interface CatalogSize {
  customers: number;
  products: number;
}

/** Customers and products made with the CLI straight into MongoDB (--via db), seeded. */
export async function prepareWorld(cli: Cli, world: World, size: CatalogSize): Promise<void> {
  const base = ['--config', world.configPath, 'make'];
  await cli.json<WriteSummaryJson>([...base, 'customers', '--count', String(size.customers), '--via', 'db', '--seed', '1', '--json']);
  await cli.json<WriteSummaryJson>([...base, 'products', '--count', String(size.products), '--via', 'db', '--seed', '2', '--json']);
}

export interface BuyMeasurement extends Throughput {
  /** The whole process, start-up and connections included. */
  wallMs: number;
  peakRss: number | null;
  /** Events/s of every run when the best of several is reported. */
  runs?: number[];
}

/** `buy --random --via kafka`: events/s by the command's own clock (generation + publishing). */
export async function measureBuy(cli: Cli, world: World, count: number, seed: number): Promise<BuyMeasurement> {
  const { result, output } = await cli.json<WriteSummaryJson>([
    '--config', world.configPath, 'buy', '--random', '--count', String(count), '--via', 'kafka', '--seed', String(seed), '--json',
  ]);
  if (output.count !== count) throw new Error(`buy published ${output.count} of ${count} purchases`);
  return { ...throughput(output.count, output.elapsedMs), wallMs: Math.round(result.wallMs), peakRss: result.peakRss };
}

export interface ConsumeMeasurement extends Throughput {
  /** The command's elapsed time, from before connecting to after disconnecting. */
  elapsedMs: number;
  idleMs: number;
  wallMs: number;
  peakRss: number | null;
  batches: number;
  deadLettered: number;
  /** Throughput between the first and the last offset commit seen (no start-up, no idle wait). */
  steady: Throughput | null;
  capped: boolean;
}

/**
 * `consume --group <fresh> --until-idle S` on a pre-filled topic. Events/s over the command's
 * own elapsed time minus the idle wait; also the steady rate, from the group's committed
 * offsets polled by the bench.
 */
export async function measureConsume(
  cli: Cli,
  world: World,
  admin: Admin,
  options: { group: string; expected: number; cap: number | null; idleSeconds: number },
): Promise<ConsumeMeasurement> {
  const target = options.cap === null ? options.expected : Math.min(options.cap, options.expected);
  const args = ['--config', world.configPath, 'consume', '--group', options.group, '--json'];
  // With a cap the command stops at the cap, so there is no idle wait to subtract.
  if (target < options.expected) args.push('--max-events', String(target));
  else args.push('--until-idle', String(options.idleSeconds));
  const poller = pollCommitted(admin, options.group, world.config.kafka.topics.inventory, target);
  let result: CliResult;
  let output: ConsumeJson;
  try {
    ({ result, output } = await cli.json<ConsumeJson>(args));
  } finally {
    poller.stop();
  }
  const seen = output.applied + output.duplicates + output.retried + output.deadLettered;
  if (output.applied !== target) {
    throw new Error(`consume applied ${output.applied} of ${target} events (${seen} seen, ${output.deadLettered} dead-lettered)`);
  }
  const idleMs = target < options.expected ? 0 : options.idleSeconds * 1000;
  return {
    ...throughput(output.applied, output.elapsedMs - idleMs),
    elapsedMs: output.elapsedMs,
    idleMs,
    wallMs: Math.round(result.wallMs),
    peakRss: result.peakRss,
    batches: output.batches,
    deadLettered: output.deadLettered,
    steady: await poller.steady(),
    capped: target < options.expected,
  };
}

const COMMIT_POLL_MS = 200;

/**
 * Polls a group's committed offsets on a topic until they reach `target` (`reached` resolves
 * then) or `stop()` was called (one last sample is taken); `steady()` is the rate from the first
 * commit to the one that reached the target.
 */
export function pollCommitted(admin: Admin, groupId: string, topic: string, target: number) {
  const samples: Array<{ at: number; committed: number }> = [];
  let stopped = false;
  let resolveReached!: () => void;
  const reached = new Promise<void>((resolve) => (resolveReached = resolve));
  const loop = (async () => {
    for (;;) {
      const at = performance.now();
      const wasStopped = stopped;
      try {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const committed = (offsets?.partitions ?? []).reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0);
        samples.push({ at: performance.now(), committed });
        if (committed >= target) {
          resolveReached();
          return;
        }
      } catch {
        // the group may not exist yet
      }
      if (wasStopped) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, COMMIT_POLL_MS - (performance.now() - at))));
    }
  })();
  return {
    reached,
    stop: () => {
      stopped = true;
    },
    steady: async (): Promise<Throughput | null> => {
      await loop;
      const first = samples.find((sample) => sample.committed > 0);
      const last = samples.find((sample) => sample.committed >= target);
      // Fewer than three polls in between say more about the poll interval than the rate.
      if (!first || !last || last.at - first.at < 3 * COMMIT_POLL_MS) return null;
      return throughput(last.committed - first.committed, last.at - first.at);
    },
  };
}
