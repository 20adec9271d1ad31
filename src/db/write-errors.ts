import { MongoBulkWriteError } from 'mongodb';

export const DUPLICATE_KEY = 11000;

/**
 * The indexes of the operations of an unordered insertMany that failed on a duplicate key;
 * rethrows any other failure.
 *
 * The driver also reports a connection lost in the middle of the command as a
 * MongoBulkWriteError, with no write errors at all: that is not "everything was inserted", it is
 * "nobody knows", and it is rethrown. `total` (the number of documents sent) makes the check
 * exact: every document must be either inserted or a duplicate.
 */
export function duplicateKeyIndexes(error: unknown, total?: number): number[] {
  if (!(error instanceof MongoBulkWriteError)) throw error;
  const raw: unknown = error.writeErrors;
  const errors = (Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw]) as Array<{ code: number; index: number }>;
  if (errors.length === 0) throw error;
  if (errors.some((writeError) => writeError.code !== DUPLICATE_KEY)) throw error;
  if (total !== undefined && error.insertedCount + errors.length !== total) throw error;
  return errors.map((writeError) => writeError.index);
}
