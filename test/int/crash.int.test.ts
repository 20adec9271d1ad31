import type { ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { ensureIndexes } from '../../src/db/collections.js';
import { projectionOn } from '../../src/services/projection.js';
import { spawnCli } from '../helpers/cli.js';
import { connectTestMongo, testConfig, waitFor, type TestMongo } from '../helpers/env.js';
import { dump, publishAll, scenario } from '../helpers/shop.js';

async function configFile(config: Config): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-crash-'));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, stringify(config));
  return file;
}

function consume(file: string, ...args: string[]): ChildProcess {
  return spawnCli(['--config', file, 'consume', ...args]);
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('crash: a consumer killed with SIGKILL mid-run and restarted ends in the uninterrupted state', () => {
  const opened: TestMongo[] = [];
  afterAll(async () => {
    for (const mongo of opened) await mongo.drop();
  });

  it('projects exactly once across a SIGKILL', async () => {
    const shop = scenario(99, { customers: 50, products: 30, purchases: 12_000 });
    const all = [...shop.customers, ...shop.products, ...shop.purchases];

    const referenceConfig = testConfig();
    const reference = await connectTestMongo(referenceConfig);
    opened.push(reference);
    await ensureIndexes(reference.db);
    for (let start = 0; start < all.length; start += 2000) {
      await projectionOn(reference).apply(all.slice(start, start + 2000).map((event) => ({ event })));
    }

    const config = testConfig();
    const mongo = await connectTestMongo(config);
    opened.push(mongo);
    await publishAll(config, all);
    const file = await configFile(config);

    const first = consume(file);
    const firstExit = exited(first);
    // Kill it once it is visibly part-way through.
    await waitFor(async () => ((await mongo.db.collection('purchases').countDocuments()) >= 1500 ? true : undefined), 90_000, 'the first consumer to make progress');
    first.kill('SIGKILL');
    expect(await firstExit).toBeNull(); // killed, not exited
    // Counted after the kill: it provably landed while purchases were still being written.
    const partial = await mongo.db.collection('purchases').countDocuments();
    expect(partial).toBeGreaterThanOrEqual(1500);
    expect(partial).toBeLessThan(12_000);
    // The killed consumer never left its group: the restarted one waits for its session to expire.

    const second = consume(file, '--until-idle', '2');
    let output = '';
    second.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    second.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await exited(second)).toBe(0);
    expect(output).toMatch(/stopped: applied \d+/);

    expect(await dump(mongo.db)).toEqual(await dump(reference.db));
  });
});
