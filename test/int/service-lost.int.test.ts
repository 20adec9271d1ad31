import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { runCli, spawnCli, stackTraceLines } from '../helpers/cli.js';
import { connectTestMongo, testConfig, testKafka, waitFor, type TestMongo } from '../helpers/env.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// Issue 13, finding 5: a service that goes away in the middle of a writing command. The command
// reaches Kafka or MongoDB through a TCP proxy the test closes once events are flowing; it must
// then exit 4, name the endpoint it was given, and say how many events it wrote before.

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `shopctl ARGS`, and resolves with how it ended (killed after `timeoutMs`). */
function start(args: string[], env: Record<string, string>, timeoutMs = 25_000): Promise<Finished> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a service lost in the middle of a command', () => {
  let config: Config;
  let file: string;
  let mongo: TestMongo;
  let proxy: TcpProxy | null = null;

  beforeAll(async () => {
    config = testConfig();
    const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-lost-'));
    file = path.join(dir, 'shopctl.yaml');
    await writeFile(file, stringify(config));
    mongo = await connectTestMongo(config);
    // Customers and products to buy, straight into MongoDB (not through any proxy).
    for (const args of [
      ['make', 'customers', '--count', '20', '--seed', '1', '--via', 'db'],
      ['make', 'products', '--count', '10', '--seed', '2', '--via', 'db'],
    ]) {
      const made = await runCli(['--config', file, ...args], {}, { timeoutMs: 60_000 });
      expect(made.code, made.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await proxy?.close();
    await mongo.drop();
  });

  /**
   * A run whose service went away: exit 4, no stack trace and no "Unexpected failure", and a
   * message (`said`: the endpoint, then the count) naming the endpoint it used. The count it gives.
   */
  const saidLost = (result: Awaited<ReturnType<typeof start>>, said: RegExp, through: string) => {
    const context = `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    expect(result.code, context).toBe(4);
    const match = said.exec(result.stderr);
    expect(match, context).not.toBeNull();
    expect(match?.[1]).toBe(through);
    expect(result.stderr).not.toContain('Unexpected failure');
    expect(stackTraceLines(result.stderr)).toEqual([]);
    return { count: Number((match?.[2] ?? '').replaceAll(',', '')), context };
  };

  it('buy --random --via kafka: Kafka gone mid-run exits 4 naming the broker and how many were published', async () => {
    proxy = await startTcpProxy(config.kafka.brokers[0] ?? '127.0.0.1:19092', { kafka: true });
    const through = proxy.endpoint;
    const running = start(['--config', file, 'buy', '--random', '--include-out-of-stock', '--count', '1000000', '--rate', '4000', '--seed', '7', '--via', 'kafka'], {
      SHOPCTL_KAFKA_BROKERS: through,
    });

    // Read the topic on the real broker: once purchases arrive, cut the proxy.
    const admin = testKafka(config).admin();
    await admin.connect();
    const published = async (): Promise<number> => {
      const offsets = await admin.fetchTopicOffsets(config.kafka.topics.inventory).catch(() => []);
      return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
    };
    try {
      await waitFor(async () => ((await published()) >= 2000 ? true : undefined), 20_000, 'purchases on the topic');
      await proxy.close();
      const result = await running;
      const { count, context } = saidLost(result, /Kafka at (\S+) became unreachable during the command: ([\d,]+) of 1,000,000 events published to Kafka before it failed/, through);
      // What it says it published is there (a request in flight may have added more).
      expect(count, context).toBeGreaterThanOrEqual(2000);
      expect(count, context).toBeLessThanOrEqual(await published());
      expect(result.stderr).toContain('hint:');
    } finally {
      await admin.disconnect();
    }
  });

  it('buy --random --via db: MongoDB gone mid-run exits 4 naming the server and how many were written', async () => {
    // (That a password in the URI is printed as *** is checked in write-outcome.unit.test.ts.)
    proxy = await startTcpProxy(config.mongodb.uri.replace(/^mongodb:\/\//, '').replace(/[/?].*$/, ''));
    const through = `mongodb://${proxy.endpoint}/?directConnection=true`;
    const running = start(['--config', file, 'buy', '--random', '--include-out-of-stock', '--count', '1000000', '--rate', '2000', '--seed', '8', '--via', 'db'], {
      SHOPCTL_MONGODB_URI: through,
    });
    const purchases = mongo.db.collection('purchases');
    await waitFor(async () => ((await purchases.countDocuments()) >= 200 ? true : undefined), 20_000, 'purchases in MongoDB');
    await proxy.close();
    const result = await running;
    const { count, context } = saidLost(result, /MongoDB at (\S+) became unreachable during the command: ([\d,]+) of 1,000,000 events written to MongoDB before it failed/, through);
    // Chunks MongoDB acknowledged; the chunk being written when it failed may be partly there too.
    expect(count, context).toBeGreaterThan(0);
    expect(count, context).toBeLessThanOrEqual(await purchases.countDocuments());
  });
});
