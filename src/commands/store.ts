import { Command, Option } from 'commander';
import { z } from 'zod';
import { formatDuration } from '../domain/availability.js';
import { idProblem, STORE_ID_RULE } from '../domain/events.js';
import { sendHeartbeats } from '../services/stores.js';
import { heartbeatLine, printHeartbeatSummary } from '../ui/stores.js';
import { durationField, examples, flagField, positiveIntField, rangeHelp, run, viaField, viaOption } from './shared.js';

const storeField = z.string().transform((value, ctx) => {
  const problem = idProblem(value, 'store');
  if (!problem) return value;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--store: '${value}' is not a valid store id: ${problem} (${STORE_ID_RULE}).` });
  return z.NEVER;
});

/** --every: from 100ms (as other waits: a faster beat only loads the path) to a day. */
const everyField = durationField('--every');

// No commander default for --every: the configuration's availability.heartbeatSeconds is.
export const storeHeartbeatOptionsSchema = z.object({
  store: storeField,
  every: everyField.optional(),
  count: positiveIntField('--count').optional(),
  via: viaField,
  json: flagField,
});
export type StoreHeartbeatOptions = z.infer<typeof storeHeartbeatOptionsSchema>;

export function storeCommand(): Command {
  const store = new Command('store').description("what a store sends: heartbeats, so the central view knows its stock is current");
  store.addHelpText('after', examples('shopctl store heartbeat --store berlin --via kafka'));
  store.addCommand(
    new Command('heartbeat')
      .description(
        'send a heartbeat for one store every interval (long-running; Ctrl-C stops it, exit 0): `stores` and `list stock` mark a store stale once its last heartbeat is older than availability.staleAfterSeconds',
      )
      .requiredOption('--store <id>', 'the store (the id its stock changes carry)')
      .addOption(new Option('--every <duration>', `how often, e.g. 5s, 500ms, 1m, or seconds (0.1-86,400 s; default: availability.heartbeatSeconds)`))
      .option('--count <n>', rangeHelp('--count', 'stop after this many heartbeats (default: until Ctrl-C or SIGTERM)'))
      .addOption(viaOption())
      .option('--json', 'print the summary as JSON at the end, instead of one line per heartbeat')
      .addHelpText(
        'after',
        examples(
          'shopctl store heartbeat --store berlin --via kafka            # every availability.heartbeatSeconds, until Ctrl-C',
          'shopctl store heartbeat --store berlin --every 1s --count 3 --via db',
          'shopctl store heartbeat --store berlin --count 1 --json',
        ),
      )
      .action(
        run(storeHeartbeatOptionsSchema, async (context, options) => {
          const { output } = context;
          const everyMs = options.every ?? context.config.availability.heartbeatSeconds * 1000;
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          try {
            const result = await sendHeartbeats(context, {
              store: options.store,
              everyMs,
              count: options.count,
              via: options.via,
              signal: stop.signal,
              onStart: (target) => {
                const until = options.count === undefined ? 'until Ctrl-C' : `${options.count} in all`;
                output.info(`store ${options.store}: a heartbeat every ${formatDuration(everyMs)} via ${options.via} (${target}), ${until}`);
              },
              onBeat: (beat) => {
                if (!options.json) output.data(heartbeatLine(options.store, beat));
              },
            });
            printHeartbeatSummary(output, result, options.json);
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
        }),
      ),
  );
  return store;
}
