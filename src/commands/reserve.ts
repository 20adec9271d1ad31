import { Command } from 'commander';
import { z } from 'zod';
import { DURATION_RULE, parseDuration } from '../domain/availability.js';
import { ID_RULE, idProblem, MAX_RESERVATION_ID_LENGTH, STORE_ID_RULE } from '../domain/events.js';
import { ExitCode, UsageError } from '../errors.js';
import { requestReservation, type ReservationAnswer } from '../services/reservations.js';
import { answerJson, describeAnswer } from '../ui/reservations.js';
import { examples, flagField, positiveIntField, rangeHelp, run, viaField, viaOption } from './shared.js';

/** The shortest and longest hold `--ttl` takes. */
export const TTL_RANGE = { minMs: 1000, maxMs: 30 * 86_400_000 } as const;

/** An id flag: surrounding spaces dropped, then the domain's rule; a usage error names the flag. */
export const idField = (flag: string, kind: 'id' | 'store' | 'reservation' = 'id') =>
  z.string().transform((value, ctx) => {
    const id = value.trim();
    const problem =
      idProblem(id, kind === 'store' ? 'store' : 'id') ??
      (kind === 'reservation' && id.length > MAX_RESERVATION_ID_LENGTH ? `longer than ${MAX_RESERVATION_ID_LENGTH} characters` : null);
    if (problem === null) return id;
    const rule = kind === 'store' ? STORE_ID_RULE : kind === 'reservation' ? `${ID_RULE}; at most ${MAX_RESERVATION_ID_LENGTH} characters` : ID_RULE;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${flag}: '${value}' is not a valid ${kind === 'store' ? 'store id' : kind === 'reservation' ? 'reservation id' : 'id'} (${rule}): ${problem}` });
    return z.NEVER;
  });

/** `--ttl`: a duration from 1s to 30d. */
export const ttlField = z.string().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms !== null && ms >= TTL_RANGE.minMs && ms <= TTL_RANGE.maxMs) return ms;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--ttl must be ${DURATION_RULE}, from 1s to 30d, got '${value}'.` });
  return z.NEVER;
});

export const reserveOptionsSchema = z.object({
  customer: idField('--customer'),
  sku: idField('--sku'),
  store: idField('--store', 'store').optional(),
  quantity: positiveIntField('--quantity'),
  ttl: ttlField.optional(),
  id: idField('--id', 'reservation').optional(),
  allowStale: flagField,
  via: viaField,
  json: flagField,
});
export type ReserveOptions = z.infer<typeof reserveOptionsSchema>;

/**
 * 0: confirmed, or requested (kafka: the store decides later), or the same request answered
 * again; 3 (refused, as for refused events elsewhere): rejected by the store, or refused here
 * because the store is stale.
 */
export const answerExitCode = (answer: Pick<ReservationAnswer, 'status'>, goal: ReservationAnswer['status']): number =>
  answer.status === 'requested' || answer.status === goal ? ExitCode.ok : ExitCode.partial;

export function reserveCommand(): Command {
  return new Command('reserve')
    .description('reserve units of a SKU at a store for a customer: the store holds them until the reservation is fulfilled, cancelled or expires')
    .requiredOption('--customer <id>', 'who the units are held for')
    .requiredOption('--sku <sku>', 'the item')
    .option('--store <id>', 'the store that holds them (default: inventory.defaultStore)')
    .requiredOption('--quantity <n>', rangeHelp('--quantity', 'units to hold'))
    .option('--ttl <duration>', 'how long the hold lasts, 1s to 30d, e.g. 90s, 15m, 2h (default: availability.reservationTtl)')
    .option('--id <id>', `the reservation id, an idempotency key: the same id sent twice holds once (default: a random UUID; at most ${MAX_RESERVATION_ID_LENGTH} characters)`)
    .option('--allow-stale', "reserve even when the store's last heartbeat is older than availability.staleAfterSeconds")
    .addOption(viaOption())
    .option('--json', 'print the reservation as JSON')
    .addHelpText(
      'after',
      `
db decides at once (exit 0 confirmed, 3 rejected); kafka publishes to the reservations topic and
the store decides when \`shopctl consume\` applies it (exit 0).
${examples(
  'shopctl reserve --customer c-42 --sku SKU-4F7QX2AB --store berlin --quantity 2',
  'shopctl reserve --customer c-42 --sku SKU-4F7QX2AB --quantity 1 --ttl 30m --id order-1001 --via kafka',
  'shopctl reserve --customer c-42 --sku SKU-4F7QX2AB --quantity 1 --json | jq -r .status',
)}`,
    )
    .action(
      run(reserveOptionsSchema, async (context, options) => {
        const ttlMs = options.ttl ?? parseDuration(context.config.availability.reservationTtl);
        if (ttlMs === null || ttlMs < TTL_RANGE.minMs || ttlMs > TTL_RANGE.maxMs) {
          throw new UsageError(`availability.reservationTtl: '${context.config.availability.reservationTtl}' is not a hold from 1s to 30d`, {
            suggestion: `Set it to ${DURATION_RULE}, or pass --ttl.`,
          });
        }
        const now = new Date();
        const answer = await requestReservation(
          context,
          {
            customer: options.customer,
            sku: options.sku,
            store: options.store ?? context.config.inventory.defaultStore,
            quantity: options.quantity,
            ttlMs,
            id: options.id,
            allowStale: options.allowStale,
            via: options.via,
          },
          now,
        );
        if (options.json) context.output.json(answerJson(answer));
        else context.output.data(describeAnswer(answer, 'requested', now));
        return answerExitCode(answer, 'confirmed');
      }),
    );
}
