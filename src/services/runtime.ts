import { randomInt, randomUUID } from 'node:crypto';
import { createFaker } from '../domain/generators.js';

// Where time, ids and randomness come from. Commands build one; tests pass their own so that
// two runs of one scenario produce identical events.
export interface Runtime {
  now(): Date;
  newId(): string;
  /** The seed generated data is drawn from (given, or drawn once here). */
  seed: number;
  source: string;
}

// A seeded run draws event ids from a second seeded stream, so running the same command with the
// same seed produces the same events, and the projection applies them once.
export function createRuntime(seed: number | null | undefined, now: () => Date = () => new Date()): Runtime {
  if (seed === null || seed === undefined) {
    return { now, newId: randomUUID, seed: randomInt(0, 2 ** 31), source: 'shopctl' };
  }
  const ids = createFaker(seed ^ 0x5eed5eed);
  return { now, newId: () => ids.string.uuid(), seed, source: 'shopctl' };
}
