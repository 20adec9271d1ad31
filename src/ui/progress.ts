import ora, { type Ora } from 'ora';
import type { Output } from './output.js';

// Progress for long work: a spinner line on a TTY, occasional plain lines otherwise.
export interface Progress {
  update(text: string): void;
  /** Removes the progress line (the caller prints its own summary). */
  stop(): void;
  succeed(text: string): void;
  fail(text: string): void;
}

export function createProgress(output: Output, initial: string, options: { plainEveryMs?: number } = {}): Progress {
  // A pseudo-terminal that reports 0 columns makes ora redraw forever: treat it as no TTY.
  if (output.isTty && (process.stderr.columns ?? 0) > 0) {
    const spinner: Ora = ora({ text: initial, stream: process.stderr }).start();
    return {
      update: (text) => {
        spinner.text = text;
      },
      stop: () => {
        spinner.stop();
      },
      succeed: (text) => {
        spinner.succeed(text);
      },
      fail: (text) => {
        spinner.fail(text);
      },
    };
  }
  const every = options.plainEveryMs ?? 5000;
  let last = Date.now();
  return {
    update: (text) => {
      const now = Date.now();
      if (now - last >= every) {
        last = now;
        output.info(text);
      }
    },
    stop: () => undefined,
    succeed: (text) => output.info(text),
    // Off a TTY the error itself is reported by whoever failed; no second line for it.
    fail: () => undefined,
  };
}

export function formatRate(count: number, elapsedMs: number): string {
  const perSecond = elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/**
 * Runs a read with a spinner on stderr while it lasts, when there is a person to see it: stdout
 * and stderr a terminal, and no --json (`quiet`). Shown only after `delayMs`, so a quick read
 * does not flicker; never on a pipe, so what a script reads is untouched.
 */
export async function whileReading<T>(output: Output, text: string, work: () => Promise<T>, options: { quiet?: boolean; delayMs?: number } = {}): Promise<T> {
  if (options.quiet || !output.isTty || (process.stderr.columns ?? 0) <= 0) return work();
  let spinner: Ora | undefined;
  const timer = setTimeout(() => {
    spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
  }, options.delayMs ?? 300);
  try {
    return await work();
  } finally {
    clearTimeout(timer);
    spinner?.stop();
  }
}
