import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigError, ExitCode, ServiceUnavailableError, ShopctlError, UsageError, isShopctlError } from '../../src/errors.js';
import { renderError } from '../../src/ui/errors.js';
import type { Output } from '../../src/ui/output.js';

/** An Output that records what would have gone to the terminal. */
function recordingOutput(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    isTty: false,
    color: false,
    stdout,
    stderr,
    data: (text) => void stdout.push(text),
    json: (value) => void stdout.push(JSON.stringify(value)),
    info: (text) => void stderr.push(text),
    warn: (text) => void stderr.push(`warning ${text}`),
    error: (text) => void stderr.push(`error ${text}`),
  };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('error classes', () => {
  it('ConfigError and UsageError are usage errors (exit 2) with stable codes', () => {
    const config = new ConfigError('bad', { details: ['kafka.brokers: expected array'] });
    expect(config).toBeInstanceOf(ShopctlError);
    expect(config.exitCode).toBe(ExitCode.usage);
    expect(config.code).toBe('CONFIG_INVALID');
    expect(config.details).toEqual(['kafka.brokers: expected array']);
    const usage = new UsageError('nope');
    expect(usage.exitCode).toBe(2);
    expect(usage.code).toBe('USAGE');
    expect(isShopctlError(usage)).toBe(true);
    expect(isShopctlError(new Error('plain'))).toBe(false);
  });

  it('ServiceUnavailableError exits 4, names the endpoint and suggests stack:up', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const error = new ServiceUnavailableError('mongodb', 'mongodb://127.0.0.1:1', cause);
    expect(error.exitCode).toBe(ExitCode.unavailable);
    expect(error.exitCode).toBe(4);
    expect(error.code).toBe('MONGODB_UNAVAILABLE');
    expect(error.message).toContain('mongodb://127.0.0.1:1');
    expect(error.suggestion).toContain('stack:up');
    expect(error.cause).toBe(cause);
    expect(new ServiceUnavailableError('kafka', '127.0.0.1:1').code).toBe('KAFKA_UNAVAILABLE');
  });
});

describe('renderError', () => {
  it('prints message, details and hint, and returns the exit code, without a stack trace', () => {
    vi.stubEnv('SHOPCTL_DEBUG', '');
    const output = recordingOutput();
    const code = renderError(
      new ConfigError('Invalid configuration in config.yaml', { details: ['kafka.brokers: expected array'], suggestion: 'Fix it.' }),
      output,
    );
    expect(code).toBe(2);
    const text = output.stderr.join('\n');
    expect(text).toContain('Invalid configuration in config.yaml');
    expect(text).toContain('kafka.brokers: expected array');
    expect(text).toContain('Fix it.');
    expect(text).not.toMatch(/^\s+at\s/m);
    expect(output.stdout).toEqual([]);
  });

  it('renders zod issues field by field as a usage error', () => {
    const output = recordingOutput();
    const parsed = z.object({ count: z.number().int() }).safeParse({ count: 'x' });
    expect(parsed.success).toBe(false);
    expect(renderError(parsed.error, output)).toBe(2);
    expect(output.stderr.join('\n')).toMatch(/count: Expected number/);
  });

  it('an unexpected error exits 1 and shows its stack only with SHOPCTL_DEBUG=1', () => {
    vi.stubEnv('SHOPCTL_DEBUG', '');
    const quiet = recordingOutput();
    expect(renderError(new TypeError('boom'), quiet)).toBe(1);
    expect(quiet.stderr.join('\n')).toContain('boom');
    expect(quiet.stderr.join('\n')).not.toMatch(/^\s+at\s/m);

    vi.stubEnv('SHOPCTL_DEBUG', '1');
    const debug = recordingOutput();
    renderError(new TypeError('boom'), debug);
    expect(debug.stderr.join('\n')).toMatch(/^\s+at\s/m);
  });
});
