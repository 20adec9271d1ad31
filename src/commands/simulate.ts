import { Command, Option } from 'commander';
import { z } from 'zod';
import { formatDuration } from '../domain/availability.js';
import { MAX_SEED } from '../domain/generators.js';
import { LIMITS } from '../domain/limits.js';
import { MIX_RULE, parseMix } from '../domain/simulation.js';
import { ExitCode } from '../errors.js';
import { simulate } from '../services/simulate.js';
import { createProgress, type Progress } from '../ui/progress.js';
import { printSimulationStart, printSimulationSummary, simulationLine } from '../ui/simulation.js';
import { durationField, examples, flagField, intField, positiveNumberField, rangeHelp, run, seedField, withRange } from './shared.js';
import { onInterrupt } from './write.js';

/** --stores: how many simulated stores. */
export const STORES_RANGE = { min: 1, max: 100 } as const;

const durationOrForever = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (String(value).trim() === 'forever') return null;
  const parsed = durationField('--duration').safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${issue.message}; or forever` });
  return z.NEVER;
});

const mixField = z.string().transform((value, ctx) => {
  const mix = parseMix(value);
  if (typeof mix !== 'string') return mix;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--mix: ${mix}; expected ${MIX_RULE}, got '${value}'.` });
  return z.NEVER;
});

/** --refusals: a percentage, with or without the sign. */
const refusalsField = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const text = String(value).trim().replace(/%$/, '');
  const parsed = positiveNumberField('--refusals', { min: 0, max: 100 }).safeParse(text);
  if (parsed.success) return parsed.data;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--refusals must be a percentage from 0 to 100 (e.g. 2 or 2%), got '${String(value)}'.` });
  return z.NEVER;
});

export const simulateOptionsSchema = z.object({
  rate: positiveNumberField('--rate'),
  duration: durationOrForever,
  stores: intField('--stores', STORES_RANGE),
  seed: seedField().optional(),
  mix: mixField.optional(),
  refusals: refusalsField.optional(),
  via: z.enum(['db', 'kafka']).default('kafka'),
  json: flagField,
});
export type SimulateOptions = z.infer<typeof simulateOptionsSchema>;

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('a living shop, until stopped: registrations, deliveries, stock counts, purchases, sales, reservations and heartbeats at a few stores, in a realistic mix')
    .option('--rate <events/s>', rangeHelp('--rate', 'events per second, all kinds together'), '50')
    .option('--duration <time>', `how long: 30s, 10m, 1h (${formatDuration(LIMITS.seconds.min * 1000)} to ${formatDuration(LIMITS.seconds.max * 1000)}) or forever (until Ctrl-C or SIGTERM)`, 'forever')
    .option('--stores <n>', withRange('how many stores (the same names for the same number: berlin, paris, rome, …)', STORES_RANGE), '3')
    .option('--seed <n>', withRange('same seed in a fresh shop, same events (and the same event ids) (default: generate.seed, else drawn)', { min: 0, max: MAX_SEED }))
    .option('--mix <kind=weight,…>', 'how often each kind happens, relative to the others: purchases, restocks, counts, sales, reservations, registrations (default: simulate.mix)')
    .option('--refusals <percent>', 'share of purchases and sales that ask for more than a shelf holds, to exercise refusals (0-100; default: simulate.refusals)')
    .addOption(new Option('--via <path>', 'as events through Kafka (kafka; `shopctl consume` applies them) or straight into MongoDB (db)').choices(['kafka', 'db']).default('kafka'))
    .option('--json', 'print the totals as JSON at the end')
    .addHelpText(
      'after',
      `
An empty shop (no customers or no products) is given a starting catalogue first, and a store
without any stock opening stock; it says so. Purchases and sales ask for what a running model of
the stock says is there, except the --refusals share. Reservations are later fulfilled (60%),
cancelled (25%) or left to expire (15%); each store sends a heartbeat every
availability.heartbeatSeconds. Ctrl-C, SIGTERM or the end of --duration finish the chunk in
flight and print the totals (exit 0); a second Ctrl-C stops at once (exit 130).
${examples(
  'shopctl simulate                                         # 50 events/s through Kafka, until Ctrl-C',
  'shopctl simulate --rate 200 --duration 10m --stores 5 --seed 7',
  'shopctl simulate --mix purchases=80,restocks=15,registrations=5 --refusals 0 --via db',
  'shopctl simulate --duration 30s --json | jq .byKind',
)}`,
    )
    .action(
      run(simulateOptionsSchema, async (context, options) => {
        const { config, output } = context;
        const stop = new AbortController();
        let progress: Progress | null = null;
        const release = onInterrupt({
          first: () => {
            progress?.stop();
            if (!options.json) output.info('stopping after the chunk in flight (Ctrl-C again to stop at once)');
            stop.abort();
          },
          again: () => {
            output.warn('interrupted again: stopped at once; the chunk in flight may be written in part');
            process.exit(ExitCode.interrupted);
          },
        });
        const timer = options.duration === null ? null : setTimeout(() => stop.abort(), options.duration);
        try {
          const result = await simulate(context, {
            via: options.via,
            rate: options.rate,
            stores: options.stores,
            seed: options.seed ?? config.generate.seed,
            mix: options.mix ?? config.simulate.mix,
            refusalShare: (options.refusals ?? config.simulate.refusals) / 100,
            signal: stop.signal,
            onStart: (start) => {
              if (options.json) return;
              const until = options.duration === null ? 'until Ctrl-C' : `for ${formatDuration(options.duration)}`;
              printSimulationStart(output, start, { via: options.via, rate: options.rate, until });
              if (!stop.signal.aborted) progress = createProgress(output, 'simulating…', { plainEveryMs: 10_000 });
            },
            onProgress: (totals, elapsedMs) => {
              if (!stop.signal.aborted) progress?.update(simulationLine(totals, elapsedMs));
            },
          });
          (progress as Progress | null)?.stop();
          printSimulationSummary(output, result, options.json);
          return ExitCode.ok;
        } catch (error) {
          (progress as Progress | null)?.fail('simulate: failed');
          throw error;
        } finally {
          if (timer) clearTimeout(timer);
          release();
        }
      }),
    );
}
