import { once } from 'node:events';
import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient, MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../src/commands/import.js';
import { writeExitCode, writeSummary } from '../../src/commands/write.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import { createEvent } from '../../src/domain/events.js';
import { ExitCode, ServiceUnavailableError, ShopctlError } from '../../src/errors.js';
import type { ImportSummary } from '../../src/services/import.js';
import { explainWriteFailure, isUnavailable, unavailableService } from '../../src/services/pump.js';
import type { SinkTotals } from '../../src/services/sinks.js';
import type { Output } from '../../src/ui/output.js';
import { printWriteSummary } from '../../src/ui/write-summary.js';

// What a writing command reports: events that reuse an applied id with other content (exit 3),
// and a service lost in the middle (exit 4, naming it and what was written before).

function capture(): { output: Output; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output: Output = {
    isTty: false,
    color: false,
    data: (text) => stdout.push(text),
    json: (value) => stdout.push(JSON.stringify(value)),
    info: (text) => stderr.push(text),
    warn: (text) => stderr.push(`warning ${text}`),
    error: (text) => stderr.push(`error ${text}`),
  };
  return { output, stdout, stderr };
}

const event = (id: string) => createEvent('shop.stock.received.v1', { store: 'online', sku: 'SKU-A', quantity: 5 }, { id, time: '2026-01-01T00:00:00Z', source: 'test' });
const totals = (conflicts: number): SinkTotals => ({
  written: 3,
  duplicates: 1,
  rejected: [],
  conflicts: Array.from({ length: conflicts }, (_, i) => ({ event: event(`e-${i}`), message: 'applied before with other content' })),
});
const run = { what: 'events', via: 'db' as const };

describe('events reusing an applied id with other content', () => {
  it('are counted in a warning with a hint, and the command exits 3', () => {
    const summary = writeSummary(run, { target: 'shop' }, totals(2), 10);
    const { output, stdout, stderr } = capture();
    printWriteSummary(output, summary, false);
    expect(writeExitCode(summary)).toBe(ExitCode.partial);
    expect(stderr[0]).toBe('warning 2 events reuse an id already applied with different content; they were not applied');
    expect(stderr[1]).toMatch(/hint: .*another --seed.*transaction_id/);
    expect(stdout.join('\n')).toContain('not applied e-0: applied before with other content');
  });

  it('--json lists them and warns on stderr, keeping stdout valid JSON', () => {
    const summary = writeSummary(run, { target: 'shop' }, totals(1), 10);
    const { output, stdout, stderr } = capture();
    printWriteSummary(output, summary, true);
    expect(JSON.parse(stdout.join('\n'))).toMatchObject({ count: 3, conflicts: [{ id: 'e-0', message: 'applied before with other content' }] });
    expect(stderr[0]).toBe('warning 1 event reuses an id already applied with different content; it was not applied');
    expect(writeExitCode(summary)).toBe(ExitCode.partial);
  });

  it('none: no warning, exit 0', () => {
    const summary = writeSummary(run, { target: 'shop' }, totals(0), 10);
    const { output, stderr } = capture();
    printWriteSummary(output, summary, false);
    expect(stderr).toEqual([]);
    expect(writeExitCode(summary)).toBe(ExitCode.ok);
  });

  it('an import with such rows exits 3', () => {
    const clean = { rows: { read: 2, accepted: 2, rejected: 0 }, refused: 0, conflicts: 0 } as ImportSummary;
    expect(exitCodeOf(clean)).toBe(ExitCode.ok);
    expect(exitCodeOf({ ...clean, conflicts: 1 })).toBe(ExitCode.partial);
  });
});

const config: Config = {
  ...defaultConfig,
  kafka: { ...defaultConfig.kafka, brokers: ['127.0.0.1:1'] },
  mongodb: { ...defaultConfig.mongodb, uri: 'mongodb://app:s3cret-pw@127.0.0.1:1/?directConnection=true' },
};

/** What kafkajs throws when its broker does not answer (nothing listens on port 1). */
async function kafkaFailure(): Promise<unknown> {
  const kafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, connectionTimeout: 200, retry: { retries: 1, initialRetryTime: 50 } });
  const producer = kafka.producer();
  try {
    await producer.connect();
    await producer.send({ topic: 't', messages: [{ value: 'x' }] });
  } catch (error) {
    return error;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  throw new Error('expected the connection to fail');
}

/** What the driver throws when no server can be selected. */
async function mongoFailure(): Promise<unknown> {
  const client = new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', { serverSelectionTimeoutMS: 200 });
  try {
    await client.db('x').collection('y').insertOne({ a: 1 });
  } catch (error) {
    return error;
  } finally {
    await client.close();
  }
  throw new Error('expected the connection to fail');
}

/** Node's own error for a write to a socket the other side ended (as the MongoDB driver passes it on). */
async function endedSocketFailure(): Promise<Error> {
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'end');
    const failed = once(socket, 'error');
    socket.write('after the end');
    const [error] = (await failed) as [Error];
    socket.destroy();
    return error;
  } finally {
    server.close();
  }
}

describe('a service lost in the middle of a write', () => {
  it('recognises the drivers\' own failures, and only those', async () => {
    const [kafka, mongo] = await Promise.all([kafkaFailure(), mongoFailure()]);
    expect(unavailableService(kafka)).toBe('kafka');
    expect(unavailableService(mongo)).toBe('mongodb');
    expect(unavailableService(new MongoNetworkError('connection 3 to 127.0.0.1:27117 closed'))).toBe('mongodb');
    expect(isUnavailable(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 }))).toBe(false);
    expect(isUnavailable(new Error('boom'))).toBe(false);
    expect(isUnavailable(new ShopctlError('refused', { code: 'X' }))).toBe(false);
  });

  it('exits 4 naming the endpoint (password redacted) and how many events were written before', async () => {
    const explained = explainWriteFailure(await mongoFailure(), config, { via: 'db', written: 1200, duplicates: 30, total: 5000, repeatable: true });
    expect(explained).toBeInstanceOf(ServiceUnavailableError);
    const error = explained as ServiceUnavailableError;
    expect(error.exitCode).toBe(ExitCode.unavailable);
    expect(error.code).toBe('MONGODB_UNAVAILABLE');
    expect(error.message).toBe(
      'MongoDB at mongodb://app:***@127.0.0.1:1/?directConnection=true became unreachable during the command: 1,200 of 5,000 events written to MongoDB before it failed (and 30 found applied before)',
    );
    expect(error.details[0]).toMatch(/^cause: MongoServerSelectionError: /);
    expect(error.suggestion).toContain('run the same command again');
    expect(JSON.stringify([error.message, error.details, error.suggestion])).not.toContain('s3cret-pw');
  });

  it('on the Kafka path says how many were published', async () => {
    const error = explainWriteFailure(await kafkaFailure(), config, { via: 'kafka', written: 40_000, total: 1_000_000, repeatable: false }) as ShopctlError;
    expect(error.exitCode).toBe(ExitCode.unavailable);
    expect(error.message).toBe('Kafka at 127.0.0.1:1 became unreachable during the command: 40,000 of 1,000,000 events published to Kafka before it failed');
    expect(error.suggestion).toContain('without --seed it makes new events');
  });

  it('takes a socket ended by the server (Node\'s EPIPE, not the driver\'s error) as the service written to', async () => {
    const ended = await endedSocketFailure();
    expect((ended as NodeJS.ErrnoException).code).toBe('EPIPE');
    const db = explainWriteFailure(ended, config, { via: 'db', written: 300, total: 1000, repeatable: true }) as ShopctlError;
    expect(db).toBeInstanceOf(ServiceUnavailableError);
    expect(db.code).toBe('MONGODB_UNAVAILABLE');
    expect(db.message).toMatch(/^MongoDB at mongodb:\/\/app:\*\*\*@127\.0\.0\.1:1\/\S* became unreachable during the command: 300 of 1,000 events written/);
    const kafka = explainWriteFailure(ended, config, { via: 'kafka', written: 300, total: 1000, repeatable: true }) as ShopctlError;
    expect(kafka.code).toBe('KAFKA_UNAVAILABLE');
  });

  it('leaves other failures, and start-up failures that name their endpoint already, as they are', () => {
    const other = new Error('boom');
    expect(explainWriteFailure(other, config, { via: 'db', written: 1, total: 2, repeatable: true })).toBe(other);
    const startUp = new ServiceUnavailableError('kafka', '127.0.0.1:1');
    expect(explainWriteFailure(startUp, config, { via: 'kafka', written: 0, total: 2, repeatable: true })).toBe(startUp);
  });
});
