import { MongoBulkWriteError } from 'mongodb';

export const DUPLICATE_KEY = 11000;

/**
 * The indexes of the operations of an unordered insertMany/bulkWrite that failed on a duplicate
 * key; rethrows any other failure.
 */
export function duplicateKeyIndexes(error: unknown): number[] {
  if (!(error instanceof MongoBulkWriteError)) throw error;
  const raw: unknown = error.writeErrors;
  const errors = (Array.isArray(raw) ? raw : [raw]) as Array<{ code: number; index: number }>;
  if (errors.some((writeError) => writeError.code !== DUPLICATE_KEY)) throw error;
  return errors.map((writeError) => writeError.index);
}
