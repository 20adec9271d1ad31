import { MongoBulkWriteError, MongoNetworkError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { duplicateKeyIndexes } from '../../src/db/write-errors.js';

// Built the way the driver builds them (mongodb 6: new MongoBulkWriteError(error, result)).
const bulkError = (writeErrors: Array<{ code: number; index: number }>, insertedCount: number) =>
  new MongoBulkWriteError({ message: 'bulk', code: writeErrors[0]?.code, writeErrors } as never, { insertedCount, writeErrors } as never);

describe('duplicateKeyIndexes', () => {
  it('gives the indexes of the documents that were duplicates', () => {
    const error = bulkError([{ code: 11000, index: 1 }, { code: 11000, index: 3 }], 2);
    expect(duplicateKeyIndexes(error, 4)).toEqual([1, 3]);
  });

  it('rethrows a bulk error without write errors: a connection lost mid-command is not "all inserted"', () => {
    const lost = bulkError([], 0);
    expect(() => duplicateKeyIndexes(lost, 40)).toThrow(lost);
    expect(() => duplicateKeyIndexes(lost)).toThrow(lost);
  });

  it('rethrows when some documents are neither inserted nor duplicates', () => {
    const partial = bulkError([{ code: 11000, index: 0 }], 10);
    expect(() => duplicateKeyIndexes(partial, 40)).toThrow(partial);
  });

  it('rethrows other write errors and other errors', () => {
    expect(() => duplicateKeyIndexes(bulkError([{ code: 121, index: 0 }], 0), 1)).toThrow();
    const network = new MongoNetworkError('read ECONNRESET');
    expect(() => duplicateKeyIndexes(network, 1)).toThrow(network);
  });
});

describe('isMongoUnavailable', () => {
  it('knows a connection lost mid-insertMany, which the driver reports as a bulk error without write errors', async () => {
    const { isMongoUnavailable } = await import('../../src/db/client.js');
    expect(isMongoUnavailable(bulkError([], 0))).toBe(false); // no network message: not enough to say
    const lost = new MongoBulkWriteError({ message: 'connection 1 to 127.0.0.1:27117 closed' } as never, { insertedCount: 0, writeErrors: [] } as never);
    expect(isMongoUnavailable(lost)).toBe(true);
    expect(isMongoUnavailable(new MongoNetworkError('read ECONNRESET'))).toBe(true);
    expect(isMongoUnavailable(bulkError([{ code: 11000, index: 0 }], 0))).toBe(false);
  });
});
