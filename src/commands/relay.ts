import { Command } from 'commander';
import { z } from 'zod';
import { formatRange, LIMITS } from '../domain/limits.js';
import { DEFAULT_BATCH, MAX_BATCH, STALE_INTENT_MS, relayStatus, runRelay, type RelayProgress, type RelayStatus, type RelayTotals } from '../services/relay.js';
import { createProgress, formatRate } from '../ui/progress.js';
import { durationField, examples, flagField, intField, run } from './shared.js';

const DEFAULT_EVERY = '1s';

/** `--every`: `500ms`, `2s`, `1m`, or a number of seconds; within LIMITS.seconds. */
export const everyField = durationField('--every');

export const relayOptionsSchema = z
  .object({
    untilEmpty: flagField,
    batch: intField('--batch', { min: 1, max: MAX_BATCH }).default(DEFAULT_BATCH),
    every: everyField.default(DEFAULT_EVERY),
    status: flagField,
    json: flagField,
  })
  .superRefine((options, ctx) => {
    if (options.status && options.untilEmpty) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: '--status only shows the backlog: leave out --until-empty, or --status to publish.' });
    }
  });
export type RelayOptions = z.infer<typeof relayOptionsSchema>;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const count = (n: number): string => n.toLocaleString('en-US');
const batches = (n: number): string => `${count(n)} ${n === 1 ? 'batch' : 'batches'}`;

const describe = (p: RelayProgress): string => {
  if (p.standby) return `another relay is publishing (it holds the lease relay:outbox): waiting for it; published ${count(p.published)} so far`;
  if (p.blocked) return `published ${count(p.published)} in ${batches(p.batches)}; waiting for write intent ${p.blocked._id} (in flight since ${p.blocked.at}) to complete`;
  return `published ${count(p.published)} in ${batches(p.batches)}${recovered(p.recovered)}…`;
};

const recovered = (n: number): string => (n > 0 ? `; completed or undid ${count(n)} ${n === 1 ? 'write' : 'writes'} left in flight by crashed writers` : '');

const finished = (t: RelayTotals): string =>
  `${t.stopped === 'empty' ? 'outbox empty' : 'stopped'}: published ${count(t.published)} events in ${batches(t.batches)} in ${seconds(t.elapsedMs)} (${formatRate(t.published, t.elapsedMs)})${recovered(t.recovered)}`;

function statusLines(s: RelayStatus): string[] {
  const lines = [`outbox: ${count(s.waiting)} ${s.waiting === 1 ? 'event' : 'events'} waiting`];
  if (s.oldest) lines.push(`oldest: written ${s.oldest.writtenAt ?? '(unknown)'}${s.oldest.ageMs === null ? '' : `, ${seconds(s.oldest.ageMs)} ago`} (${s.oldest.id})`);
  lines.push(`write intents in flight: ${s.inFlight}`);
  if (s.blockedBy) {
    lines.push(`blocked: the oldest event belongs to write intent ${s.blockedBy.intent}, in flight since ${s.blockedBy.at} (${seconds(s.blockedBy.ageMs)}); nothing is published past it until that write completes (the relay completes or undoes it once it is ${STALE_INTENT_MS / 1000}s old: its writer crashed)`);
  }
  return lines;
}

export function relayCommand(): Command {
  return new Command('relay')
    .description('publish the outbox (events written --via db) to Kafka, in order per key, at least once (long-running; Ctrl-C finishes the batch and exits)')
    .option('--until-empty', 'exit once the outbox is empty (for scripts and tests)')
    .option('--batch <n>', `events per batch: read, published (acks all), then deleted (1-${MAX_BATCH}; default: ${DEFAULT_BATCH})`)
    .option('--every <duration>', `how often to look again when there is nothing to publish, e.g. 500ms, 2s, 1m, or seconds (${formatRange(LIMITS.seconds)} s; default: ${DEFAULT_EVERY})`)
    .option('--status', 'show the backlog (events waiting, the oldest one\'s age, writes in flight) and exit')
    .option('--json', 'print the final totals (or the status) as JSON')
    .addHelpText('after', examples('shopctl relay', 'shopctl relay --until-empty', 'shopctl relay --batch 200 --every 500ms', 'shopctl relay --status', 'shopctl relay --status --json'))
    .action(
      run(relayOptionsSchema, async (context, options) => {
        const { output } = context;
        if (options.status) {
          const status = await relayStatus(context);
          if (options.json) output.json(status);
          else for (const line of statusLines(status)) output.data(line);
          return 0;
        }
        const progress = options.json ? null : createProgress(output, 'relaying the outbox to Kafka…');
        let saidWaiting: string | null = null;
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const totals = await runRelay(context, {
            batch: options.batch,
            everyMs: options.every,
            untilEmpty: options.untilEmpty,
            signal: stop.signal,
            onProgress: (p) => {
              progress?.update(describe(p));
              // Waiting is said once as a line too (off a TTY, progress lines are throttled).
              const waitingFor = p.standby ? 'another relay' : (p.blocked?._id ?? null);
              if (waitingFor !== saidWaiting && waitingFor !== null && !output.isTty) output.info(describe(p));
              saidWaiting = waitingFor;
            },
          });
          if (options.json) output.json({ ...totals, perSecond: totals.elapsedMs > 0 ? Math.round((totals.published * 1000) / totals.elapsedMs) : 0 });
          else progress?.succeed(finished(totals));
          return 0;
        } catch (error) {
          progress?.fail('relay stopped');
          throw error;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
