import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { DURATION_RULE, formatDuration, parseDuration } from '../domain/availability.js';
import { parseSince } from '../domain/since.js';
import { UsageError } from '../errors.js';
import { createContext, type Context, type GlobalOptions } from '../services/context.js';
import { MAX_SEED } from '../domain/generators.js';
import { formatRange, LIMITS, type Range } from '../domain/limits.js';
import { renderError } from '../ui/errors.js';
import { createOutput } from '../ui/output.js';

export type Via = z.infer<typeof viaField>;

export function viaOption(): Option {
  return new Option('--via <path>', 'write straight into MongoDB (db) or as events through Kafka (kafka)')
    .choices(['db', 'kafka'])
    .default('db');
}

// Option values. Commander hands over strings (defaults may be numbers); each command parses
// them with one exported zod schema built from these fields, so its option type is inferred
// (z.infer), and an invalid value is a usage error naming the flag (exit 2).
const raw = z.union([z.string(), z.number()]).transform(String);

/**
 * The range of each numeric option, by its flag (src/domain/limits.ts says why each bound): a
 * field built without an explicit range takes its flag's. A flag not listed is bounded only by
 * exact integers (Number.MAX_SAFE_INTEGER).
 */
export const optionRanges: Readonly<Record<string, Range>> = {
  '--count': LIMITS.count,
  '--stock': LIMITS.stock,
  '--level': LIMITS.level,
  '--quantity': LIMITS.purchaseQuantity,
  '--limit': LIMITS.rows,
  '--top': LIMITS.rows,
  '--max-events': LIMITS.events,
  '--interval': LIMITS.seconds,
  '--until-idle': LIMITS.seconds,
  '--rate': LIMITS.rate,
};

const rangeOf = (name: string, fallback: Range): Range => optionRanges[name] ?? fallback;

/** An option's help text with its range: "how many (1-10,000,000; default: generate.customers)". */
export function withRange(description: string, range: Range): string {
  const defaulted = /^(.*) \((default: [^()]*)\)$/.exec(description);
  return defaulted ? `${defaulted[1]} (${formatRange(range)}; ${defaulted[2]})` : `${description} (${formatRange(range)})`;
}

/** Help text for a flag listed in optionRanges, with its range: `rangeHelp('--limit', 'at most this many rows')`. */
export function rangeHelp(flag: string, description: string): string {
  const range = optionRanges[flag];
  return range ? withRange(description, range) : description;
}

/** A whole number in `range` (default: the flag's, else 1 to Number.MAX_SAFE_INTEGER). */
export const positiveIntField = (name: string, range: Range = rangeOf(name, { min: 1, max: Number.MAX_SAFE_INTEGER })) => intField(name, range);

/** A whole number in `range` (default: the flag's, else 0 to Number.MAX_SAFE_INTEGER). */

/** A whole number from range.min to range.max; the message names the flag and both bounds. */
export const intField = (name: string, range: Range) =>
  raw.transform((text, ctx) => {
    const trimmed = text.trim();
    if (/^\d+$/.test(trimmed)) {
      const value = Number(trimmed);
      if (value >= range.min && value <= range.max) return value;
    }
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${name} must be a whole number from ${formatRange(range, ' to ')}, got '${text}'.` });
    return z.NEVER;
  });

/**
 * `--seed`: 0 to 2^32 - 1. Faker keeps 32 bits of a seed, so a larger one would silently make the
 * data of a smaller one (4294967297 that of 1): refused instead.
 */
export const seedField = (name = '--seed') =>
  raw.transform((text, ctx) => {
    if (/^\d+$/.test(text) && Number(text) <= MAX_SEED) return Number(text);
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${name} must be a whole number from 0 to ${MAX_SEED} (Faker seeds have 32 bits), got '${text}'.` });
    return z.NEVER;
  });

/** A number in `range` (default: the flag's, else any finite number above 0). */
export const positiveNumberField = (name: string, range?: Range) =>
  raw.transform((text, ctx) => {
    const bounds = range ?? optionRanges[name];
    const value = text.trim() === '' ? Number.NaN : Number(text);
    if (Number.isFinite(value) && (bounds ? value >= bounds.min && value <= bounds.max : value > 0)) return value;
    const expected = bounds ? `a number from ${formatRange(bounds, ' to ')}` : 'a positive number';
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${name} must be ${expected}, got '${text}'.` });
    return z.NEVER;
  });

/** A switch: absent is false. */
export const flagField = z.boolean().default(false);

export const viaField = z.enum(['db', 'kafka']).default('db');

/**
 * A field as a commander argument parser (`.option(flags, text, argParser(field))`), for
 * options parsed while commander reads them: an invalid value is commander's usage error.
 */
export function argParser<T>(field: z.ZodType<T, z.ZodTypeDef, unknown>) {
  return (value: string): T => {
    const parsed = field.safeParse(value);
    if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues.map((issue) => issue.message).join(' '));
    return parsed.data;
  };
}

/** `--seed` as a commander argument parser (the same rule as seedField). */
export const seedArgument = (name = '--seed') => argParser(seedField(name));

/** Raw options -> typed options, or a usage error that says which values are wrong. */
export function parseOptions<T>(schema: OptionsSchema<T>, options: unknown, command?: Command): T {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const messages = parsed.error.issues.map((issue) => (issue.code === z.ZodIssueCode.custom ? issue.message : `--${kebab(issue.path.join('.'))}: ${issue.message}`));
  const [first = 'Invalid options', ...rest] = messages;
  throw new UsageError(first, {
    details: rest,
    ...(command ? { suggestion: `See \`shopctl ${commandPath(command)} --help\`.` } : {}),
  });
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/** A command's options schema: raw options in, typed options (`z.infer`) out. */
export type OptionsSchema<T> = z.ZodType<T, z.ZodTypeDef, unknown>;

type Work<O> = (context: Context, options: O, command: Command) => Promise<number | void> | number | void;

/**
 * Wraps a command's work: parses its options with `schema` (before any config is read or
 * connection made, as commander's own checks are), builds the context from the global options,
 * runs, renders any error once and sets the exit code, and always closes connections.
 */
export function run<T>(schema: OptionsSchema<T>, work: Work<T>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions & { namespace?: string }>();
    let context: Context | undefined;
    try {
      const options = parseOptions(schema, command.opts(), command);
      // --namespace is a flag like --db: the highest layer of the configuration.
      context = await createContext(globals, globals.namespace !== undefined ? { namespace: globals.namespace } : {});
      for (const note of context.loaded.notes) context.output.info(note);
      const code = await work(context, options, command);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (error) {
      process.exitCode = renderError(error, context?.output ?? createOutput(globals.color === false ? { color: false } : {}));
    } finally {
      await context?.close().catch(() => undefined);
    }
  };
}

/** `--since`: an ISO date/time or a duration back from `now`; a clear usage error otherwise. */
export function sinceOf(raw: string | undefined, now: Date): Date | undefined {
  if (raw === undefined) return undefined;
  const parsed = parseSince(raw, now);
  if (!parsed) {
    throw new UsageError(`--since: '${raw}' is neither an ISO date/time nor a duration`, {
      suggestion: 'Use e.g. 2026-01-31, 2026-01-31T10:00Z, or 90s, 15m, 2h, 1d, 1w.',
    });
  }
  return parsed;
}

/**
 * A duration option (`--every 500ms`, `2s`, `1m`, `1h`, or a number of seconds) in milliseconds,
 * within `range` seconds; a usage error naming the flag, the range and the forms otherwise.
 */
export const durationField = (flag: string, range: Range = LIMITS.seconds) =>
  z
    .union([z.string(), z.number()])
    .transform(String)
    .transform((text, ctx) => {
      const ms = /^\s*\d+(?:\.\d+)?\s*$/.test(text) ? Math.round(Number(text) * 1000) : parseDuration(text);
      if (ms !== null && ms >= range.min * 1000 && ms <= range.max * 1000) return ms;
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `${flag}: '${text}' is not a duration from ${formatDuration(range.min * 1000)} to ${formatDuration(range.max * 1000)}: expected ${DURATION_RULE}, or a number of seconds`,
      });
      return z.NEVER;
    });
