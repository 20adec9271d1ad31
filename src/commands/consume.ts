import { Command } from 'commander';
import { z } from 'zod';
import { startConsuming, type ProjectorTotals } from '../services/consume.js';
import { createProgress } from '../ui/progress.js';
import { describeRefusals, tallyRefusals } from '../ui/write-summary.js';
import { examples, flagField, positiveIntField, positiveNumberField, rangeHelp, run } from './shared.js';

export const consumeOptionsSchema = z.object({
  group: z.string().optional(),
  fromBeginning: flagField,
  untilIdle: positiveNumberField('--until-idle').optional(),
  maxEvents: positiveIntField('--max-events').optional(),
  json: flagField,
});
export type ConsumeOptions = z.infer<typeof consumeOptionsSchema>;

const describe = (t: ProjectorTotals): string =>
  `applied ${t.applied}, duplicates skipped ${t.duplicates}, retried later ${t.retried}, dead-lettered ${t.deadLettered}`;

export function consumeCommand(): Command {
  return new Command('consume')
    .description(
      'project Kafka events into MongoDB (long-running; Ctrl-C finishes the batch and exits); every availability.sweepSeconds it also publishes the expiries of overdue reservations',
    )
    .option('--group <id>', 'consumer group id (default: kafka.groupId); more processes with one group share the partitions')
    .option('--from-beginning', 'rewind the group to the oldest event first (a replay; without it the group resumes where it stopped, and a new group starts at the oldest event)')
    .option('--until-idle <seconds>', rangeHelp('--until-idle', 'exit once no event arrived for this long and the group has reached the end of its topics (for scripts and tests)'))
    .option('--max-events <n>', rangeHelp('--max-events', 'exit after this many events'))
    .option('--json', 'print the final totals as JSON')
    .addHelpText(
      'after',
      examples('shopctl consume', 'shopctl consume --from-beginning --until-idle 5', 'shopctl consume --group replay-1 --from-beginning --until-idle 10'),
    )
    .action(
      run(consumeOptionsSchema, async (context, options) => {
        const { config, output } = context;
        // A namespace keeps its sandbox apart for an explicit --group too (as for --db).
        const groupId = options.group === undefined ? config.kafka.groupId : config.namespace === null ? options.group : `${config.namespace}.${options.group}`;
        const started = Date.now();
        const progress = options.json ? null : createProgress(output, `consuming as group '${groupId}'…`);
        const projector = await startConsuming(context, {
          groupId,
          fromBeginning: options.fromBeginning,
          untilIdleMs: options.untilIdle === undefined ? undefined : options.untilIdle * 1000,
          maxEvents: options.maxEvents,
          onProgress: (totals) => progress?.update(describe(totals)),
        });
        const onSignal = () => void projector.stop();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const totals = await projector.done;
          const elapsedMs = Date.now() - started;
          // Refused: events whose last attempt in this run was refused (dead-lettered, or still
          // waiting for a retry), by reason, each event once.
          const refused = tallyRefusals(projector.refusals().values());
          const expiriesPublished = projector.expired();
          if (options.json) output.json({ groupId, ...totals, expiriesPublished, refused, elapsedMs });
          else {
            progress?.succeed(`stopped: ${describe(totals)} in ${(elapsedMs / 1000).toFixed(1)}s`);
            // The sweep's work, said only when there was some (the totals line stays as it was).
            if (expiriesPublished > 0) {
              const expiries = `${expiriesPublished} ${expiriesPublished === 1 ? 'expiry' : 'expiries'}`;
              output.data(`  overdue reservations: ${expiries} published to the reservations topic (their holds are released as they are applied)`);
            }
            const said = describeRefusals(refused);
            if (said) output.data(`  ${said}`);
          }
          return 0;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
