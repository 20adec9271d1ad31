import { Command, Option } from 'commander';
import { z } from 'zod';
import { reservationStatuses } from '../domain/documents.js';
import { UsageError } from '../errors.js';
import { closeReservation, listReservations, showReservation, sweepReservations, type StepKind } from '../services/reservations.js';
import { whileReading } from '../ui/progress.js';
import { answerJson, describeAnswer, describeSweep, printReservation, printReservations, reservationJson } from '../ui/reservations.js';
import { answerExitCode, idField } from './reserve.js';
import { examples, flagField, positiveIntField, rangeHelp, run, viaField, viaOption } from './shared.js';

/** `--status pending` is a synonym of `confirmed`: the open holds (what stock.pending counts). */
const statusChoices = [...reservationStatuses, 'pending'] as const;

export const reservationsListOptionsSchema = z.object({
  store: idField('--store', 'store').optional(),
  status: z
    .enum(statusChoices)
    .transform((status) => (status === 'pending' ? 'confirmed' : status))
    .optional(),
  customer: idField('--customer').optional(),
  limit: positiveIntField('--limit').default(20),
  json: flagField,
});

export const reservationsShowOptionsSchema = z.object({ json: flagField });
export const reservationStepOptionsSchema = z.object({ via: viaField, json: flagField });
export const reservationsSweepOptionsSchema = reservationStepOptionsSchema;

/** The <id> argument by the reservation id rule; a usage error otherwise. */
function reservationId(command: Command): string {
  const parsed = idField('<id>', 'reservation').safeParse(command.args[0] ?? '');
  if (parsed.success) return parsed.data;
  throw new UsageError(parsed.error.issues[0]?.message ?? '<id>: not a valid reservation id');
}

function stepCommand(name: 'fulfil' | 'cancel', kind: StepKind, description: string, example: string): Command {
  return new Command(name)
    .description(description)
    .argument('<id>', 'the reservation id')
    .addOption(viaOption())
    .option('--json', 'print the reservation after the step as JSON')
    .addHelpText('after', examples(example, `${example} --via kafka`, `${example} --json | jq -r .status`))
    .action(
      run(reservationStepOptionsSchema, async (context, options, command) => {
        const now = new Date();
        const answer = await closeReservation(context, kind, reservationId(command), options.via, now);
        if (options.json) context.output.json(answerJson(answer));
        else context.output.data(describeAnswer(answer, kind, now));
        return answerExitCode(answer, kind);
      }),
    );
}

export function reservationsCommand(): Command {
  const reservations = new Command('reservations').description('list, show, fulfil and cancel reservations; sweep the expired ones');
  reservations.addHelpText(
    'after',
    `
Exit codes: 0 done (or, --via kafka, published); 1 no such reservation; 2 usage;
3 refused: the reservation is closed already, or fulfilling it failed (the shop floor sold the units).
${examples('shopctl reservations list --status pending', 'shopctl reservations show order-1001', 'shopctl reservations fulfil order-1001', 'shopctl reservations sweep')}`,
  );

  reservations.addCommand(
    new Command('list')
      .description('the latest reservations first, with their status')
      .option('--store <id>', 'only this store')
      .addOption(new Option('--status <status>', 'only this status (pending: a synonym of confirmed, the open holds)').choices(statusChoices))
      .option('--customer <id>', 'only this customer')
      .addOption(new Option('-l, --limit <n>', rangeHelp('--limit', 'at most this many rows')).default(20))
      .option('--json', 'print the rows as JSON')
      .addHelpText('after', examples('shopctl reservations list --store berlin --status pending', 'shopctl reservations list --customer c-42 --json | jq length'))
      .action(
        run(reservationsListOptionsSchema, async (context, options) => {
          const filter = { store: options.store, status: options.status, customer: options.customer };
          const { rows, total } = await whileReading(context.output, 'reading reservations…', () => listReservations(context, filter, options.limit), { quiet: options.json });
          if (options.json) return context.output.json(rows.map(reservationJson));
          const which = [options.status, options.store && `at store '${options.store}'`, options.customer && `of customer '${options.customer}'`].filter(Boolean).join(' ');
          printReservations(context.output, rows, total, `no ${which ? `${which} ` : ''}reservations in database '${context.config.mongodb.db}'`.replace('no confirmed', 'no open (confirmed)'));
        }),
      ),
  );
  reservations.addCommand(
    new Command('show')
      .description('one reservation: its status, hold and expiry, and why it was rejected or failed')
      .argument('<id>', 'the reservation id')
      .option('--json', 'print it as JSON')
      .addHelpText('after', examples('shopctl reservations show order-1001', 'shopctl reservations show order-1001 --json | jq -r .status'))
      .action(
        run(reservationsShowOptionsSchema, async (context, options, command) => {
          const found = await showReservation(context, reservationId(command));
          if (options.json) context.output.json(reservationJson(found));
          else printReservation(context.output, found, new Date());
        }),
      ),
  );
  reservations.addCommand(
    stepCommand('fulfil', 'fulfilled', 'the goods leave the store: the hold ends and the level goes down (once, however often it is sent)', 'shopctl reservations fulfil order-1001'),
  );
  reservations.addCommand(stepCommand('cancel', 'cancelled', 'the customer no longer wants them: the hold is released', 'shopctl reservations cancel order-1001'));
  reservations.addCommand(
    new Command('sweep')
      .description('expire every open reservation past its expiry and release its hold (`consume` also does this every availability.sweepSeconds)')
      .addOption(viaOption())
      .option('--json', 'print what was expired as JSON')
      .addHelpText('after', examples('shopctl reservations sweep', 'shopctl reservations sweep --via kafka', 'shopctl reservations sweep --json | jq .expired'))
      .action(
        run(reservationsSweepOptionsSchema, async (context, options) => {
          const result = await sweepReservations(context, options.via);
          if (options.json) context.output.json(result);
          else context.output.data(describeSweep(result));
        }),
      ),
  );
  return reservations;
}
