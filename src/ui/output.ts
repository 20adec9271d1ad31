import { isatty } from 'node:tty';

// The only place that writes to the terminal. Data goes to stdout, messages to stderr,
// so `--json` output stays clean for pipes.
export interface Output {
  readonly isTty: boolean;
  readonly color: boolean;
  data(text: string): void;
  json(value: unknown): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
}

const codes = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1, cyan: 36 } as const;
export type Colour = keyof typeof codes;

export function createOutput(options: { color?: boolean } = {}): Output {
  const isTty = isatty(2) && isatty(1);
  const color = options.color ?? (isTty && !process.env.NO_COLOR && process.env.CI !== 'true');
  return {
    isTty,
    color,
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
