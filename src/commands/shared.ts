import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseSince } from '../domain/since.js';
import { UsageError } from '../errors.js';
import { createContext, type Context, type GlobalOptions } from '../services/context.js';
import { renderError } from '../ui/errors.js';

export type Via = 'db' | 'kafka';

export function viaOption(): Option {
  return new Option('--via <path>', 'write straight into MongoDB (db) or as events through Kafka (kafka)')
    .choices(['db', 'kafka'])
    .default('db');
}

export function positiveInt(name: string) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${raw}'.`);
    return Number(raw);
  };
}

export function nonNegativeInt(name: string) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${raw}'.`);
    return Number(raw);
  };
}

export function positiveNumber(name: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${raw}'.`);
    return value;
  };
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/**
 * Wraps a command's work: builds the context from the global options, runs, renders any error
 * once and sets the exit code, and always closes connections.
 */
export function run<O>(work: (context: Context, options: O, command: Command) => Promise<number | void> | number | void) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const options = command.opts<O & object>();
    const globals = command.optsWithGlobals<GlobalOptions>();
    let context: Context | undefined;
    try {
      context = await createContext(globals);
      const code = await work(context, options, command);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (error) {
      process.exitCode = renderError(error, context?.output);
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
