import { ZodError } from 'zod';
import { ExitCode, isShopctlError } from '../errors.js';
import { createOutput, paint, type Output } from './output.js';

// Renders any error for a person and returns the exit code it deserves. Stack traces only
// with SHOPCTL_DEBUG=1.
export function renderError(error: unknown, output: Output = createOutput()): number {
  if (isShopctlError(error)) {
    output.error(error.message);
    for (const detail of error.details) output.info(`  - ${detail}`);
    if (error.suggestion) output.info(`  ${paint('dim', 'hint:', output.color)} ${error.suggestion}`);
    debugCause(error, output);
    return error.exitCode;
  }
  if (error instanceof ZodError) {
    output.error('Invalid input');
    for (const issue of error.issues) output.info(`  - ${issue.path.join('.') || '(input)'}: ${issue.message}`);
    return ExitCode.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.error(`Unexpected failure: ${message}`);
  output.info('  Run again with SHOPCTL_DEBUG=1 for details.');
  debugCause(error, output);
  return ExitCode.failure;
}

function debugCause(error: unknown, output: Output): void {
  if (process.env.SHOPCTL_DEBUG !== '1') return;
  if (error instanceof Error) {
    output.info(error.stack ?? error.message);
    const { cause } = error;
    if (cause) output.info(`cause: ${cause instanceof Error ? (cause.stack ?? cause.message) : JSON.stringify(cause)}`);
    for (const inner of innerErrors(error)) output.info(`  inner: ${inner}`);
  }
}

// An aggregate (kafkajs's "Topic creation errors", AggregateError) says nothing until its parts are
// shown: each with its name, broker code and topic when it has them.
function innerErrors(error: Error, depth = 0): string[] {
  if (depth > 3) return [];
  const { errors, cause } = error as Error & { errors?: unknown };
  const own = Array.isArray(errors)
    ? errors.map((inner: unknown) => {
        if (!(inner instanceof Error)) return JSON.stringify(inner);
        const { type, topic } = inner as Error & { type?: string; topic?: string };
        return [inner.name, type, topic].filter(Boolean).join(' ') + `: ${inner.message}`;
      })
    : [];
  return [...own, ...(cause instanceof Error ? innerErrors(cause, depth + 1) : [])];
}
