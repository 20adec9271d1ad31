// One logger, with a namespace per component (`projection`, `leases`, `consumer`, …), for what
// an operator may want to see while shopctl works: off by default, on with SHOPCTL_LOG.
//
//   SHOPCTL_LOG=debug   everything          SHOPCTL_LOG=info   info and warnings
//   SHOPCTL_LOG=warn    warnings only (the default is silent)
//
// Lines go to stderr as `<time> <level> [<namespace>] <message> <fields as JSON>`, so they never
// mix with a command's output on stdout (tables, --json). Never pass a secret as a field.

export type LogLevel = 'debug' | 'info' | 'warn';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  namespace(name: string): Logger;
}

/** The level SHOPCTL_LOG asks for, or null (silent). Unknown values are silent too. */
export function levelFrom(value: string | undefined): LogLevel | null {
  const wanted = value?.trim().toLowerCase();
  return wanted === 'debug' || wanted === 'info' || wanted === 'warn' ? wanted : null;
}

export function createLogger(
  name: string,
  level: LogLevel | null = levelFrom(process.env.SHOPCTL_LOG),
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Logger {
  const log = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (level === null || order[at] < order[level]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    write(`${new Date().toISOString()} ${at} [${name}] ${message}${extra}`);
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    namespace: (child) => createLogger(`${name}:${child}`, level, write),
  };
}

/** The root logger of the process. */
export const logger = createLogger('shopctl');
