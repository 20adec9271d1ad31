import { isatty } from 'node:tty';

// The only place that writes to the terminal. Data goes to stdout, messages to stderr,
// so `--json` output stays clean for pipes.
export interface Output {
  readonly isTty: boolean;
  readonly color: boolean;
  /**
   * The width tables are fitted to: the terminal's, when stdout is one and --wide was not
   * given; undefined (print everything in full) otherwise.
   */
  readonly width?: number | undefined;
  data(text: string): void;
  json(value: unknown): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
}

const codes = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1, cyan: 36, grey: 90 } as const;
export type Colour = keyof typeof codes;

/** `--wide`: tables in full even on a terminal. */
export function createOutput(options: { color?: boolean; wide?: boolean } = {}): Output {
  exitQuietlyOnClosedPipe();
  const isTty = isatty(2) && isatty(1);
  const color = options.color ?? (isTty && !process.env.NO_COLOR && process.env.CI !== 'true');
  const columns = isatty(1) ? process.stdout.columns : undefined;
  return {
    isTty,
    color,
    // A terminal that reports no width (some pseudo-terminals say 0) gets tables in full.
    width: options.wide || columns === undefined || columns <= 0 ? undefined : columns,
    data: (text) => {
      process.stdout.write(`${text}\n`);
    },
    json: (value) => {
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    info: (text) => {
      process.stderr.write(`${text}\n`);
    },
    warn: (text) => {
      process.stderr.write(`${paint('yellow', 'warning', color)} ${text}\n`);
    },
    error: (text) => {
      process.stderr.write(`${paint('red', 'error', color)} ${text}\n`);
    },
  };
}

export function paint(colour: Colour, text: string, enabled: boolean): string {
  return enabled ? `\u001b[${codes[colour]}m${text}\u001b[0m` : text;
}

let pipeHandled = false;

/**
 * A reader that goes away (`shopctl list stock | head -1`) closes the pipe: the next write fails
 * with EPIPE. On stdout that ends the command quietly, as it would most Unix tools (killed by
 * SIGPIPE, which node ignores), not with "Error: write EPIPE" and a stack trace: with the exit
 * code already decided if there is one (a failure stays a failure), else 0. On stderr (messages,
 * progress) the command goes on without them, so that its exit code still says how it went.
 * Installed once, by cli.ts and by every Output.
 */
export function exitQuietlyOnClosedPipe(): void {
  if (pipeHandled) return;
  pipeHandled = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    const decided = typeof process.exitCode === 'number' ? process.exitCode : 0;
    process.exit(decided);
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.stderr.write = (() => true) as typeof process.stderr.write;
  });
}
