// One error hierarchy for everything shopctl reports to a user. `code` is stable (scripts may
// match on it), `suggestion` is something the user can act on, `exitCode` is what the process
// returns when this error ends a command.
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  partial: 3,
  unavailable: 4,
  /** Stopped by SIGINT or SIGTERM before the end, cleanly (what was done is kept). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ShopctlErrorOptions {
  code: string;
  suggestion?: string;
  exitCode?: ExitCode;
  cause?: unknown;
  details?: readonly string[];
}

export class ShopctlError extends Error {
  readonly code: string;
  readonly suggestion: string | undefined;
  readonly exitCode: ExitCode;
  readonly details: readonly string[];

  constructor(message: string, options: ShopctlErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'ShopctlError';
    this.code = options.code;
    this.suggestion = options.suggestion;
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.details = options.details ?? [];
  }
}

export class ConfigError extends ShopctlError {
  constructor(message: string, options: Omit<ShopctlErrorOptions, 'code' | 'exitCode'> = {}) {
    super(message, { ...options, code: 'CONFIG_INVALID', exitCode: ExitCode.usage });
    this.name = 'ConfigError';
  }
}

export class UsageError extends ShopctlError {
  constructor(message: string, options: Omit<ShopctlErrorOptions, 'code' | 'exitCode'> = {}) {
    super(message, { ...options, code: 'USAGE', exitCode: ExitCode.usage });
    this.name = 'UsageError';
  }
}

export class ServiceUnavailableError extends ShopctlError {
  readonly service: 'kafka' | 'mongodb';
  readonly endpoint: string;

  /** `said`: another message and suggestion than "not reachable" (e.g. lost in the middle of a command). */
  constructor(
    service: 'kafka' | 'mongodb',
    endpoint: string,
    cause?: unknown,
    said: { message?: string; suggestion?: string; details?: readonly string[] } = {},
  ) {
    const name = serviceName(service);
    super(said.message ?? `${name} is not reachable at ${endpoint}`, {
      code: service === 'kafka' ? 'KAFKA_UNAVAILABLE' : 'MONGODB_UNAVAILABLE',
      exitCode: ExitCode.unavailable,
      suggestion:
        said.suggestion ?? `Start the local stack with \`npm run stack:up\`, or point shopctl at your ${name} (see \`shopctl config show\`).`,
      cause,
      ...(said.details ? { details: said.details } : {}),
    });
    this.name = 'ServiceUnavailableError';
    this.service = service;
    this.endpoint = endpoint;
  }
}

export const serviceName = (service: 'kafka' | 'mongodb'): string => (service === 'kafka' ? 'Kafka' : 'MongoDB');

export const isShopctlError = (error: unknown): error is ShopctlError => error instanceof ShopctlError;
