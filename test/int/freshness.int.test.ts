import { writeFile } from 'node:fs/promises';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/env.js';
import { worlds, type World } from '../helpers/worlds.js';

// A store heartbeats through the real data path (`store heartbeat --via kafka`, `consume`
// projecting), and `stores` / `list stock` tell fresh from stale from unknown as the SLA says.

const SLA_MS = 2000;
const EVERY_MS = 1000;

interface StoreJson {
  store: string;
  freshness: 'fresh' | 'stale' | 'unknown';
  lastHeartbeat: string | null;
  ageMs: number | null;
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

describe('store freshness (heartbeats via kafka, consume running)', () => {
  const { world, cleanUp } = worlds('fresh');
  const started: Running[] = [];

  function start(each: World, ...args: string[]): Running {
    const child = spawnCli(['--config', each.file, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const running = { child, stdout: () => stdout, stderr: () => stderr, exit };
    started.push(running);
    return running;
  }

  afterAll(async () => {
    // Every process this file started ends here, even when a test failed half way.
    for (const running of started) {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
      await running.exit;
    }
    await cleanUp();
  });

  const storesOf = async (each: World): Promise<Map<string, StoreJson>> => {
    const listed = await each.cli('stores', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    return new Map((JSON.parse(listed.stdout) as StoreJson[]).map((row) => [row.store, row]));
  };
  const until = (each: World, store: string, state: StoreJson['freshness'], timeoutMs: number) =>
    waitFor(async () => ((await storesOf(each)).get(store)?.freshness === state ? true : undefined), timeoutMs, `store ${store} ${state}`);

  it('fresh while it heartbeats, stale within SLA + one interval of stopping, fresh again when it restarts; a store that never heartbeat is unknown', async () => {
    const each = await world();
    each.config.availability = { ...each.config.availability, staleAfterSeconds: SLA_MS / 1000, heartbeatSeconds: EVERY_MS / 1000 };
    await writeFile(each.file, stringify(each.config));
    for (const args of [
      ['topics', 'create'],
      ['stock', 'receive', '--store', 'berlin', '--sku', 'SKU-B', '--quantity', '9'],
      ['stock', 'receive', '--store', 'quiet', '--sku', 'SKU-Q', '--quantity', '5'],
    ]) {
      const done = await each.cli(...args);
      expect(done.code, done.stderr).toBe(0);
    }
    // Before any heartbeat: both stores are known from their stock only, neither is stale.
    const before = await storesOf(each);
    expect(before.get('berlin')?.freshness).toBe('unknown');
    expect(before.get('quiet')?.freshness).toBe('unknown');

    const consume = start(each, 'consume');
    // No --every: the interval comes from availability.heartbeatSeconds in the config file.
    const beating = start(each, 'store', 'heartbeat', '--store', 'berlin', '--via', 'kafka');
    // The consumer joining its group takes a few seconds: generous, this is not what is measured.
    await until(each, 'berlin', 'fresh', 40_000);
    const table = await each.cli('list', 'stock', '--store', 'berlin');
    expect(table.stdout).toMatch(/│\s+9 │\s+0 │\s+9 │/); // level, pending, available: not marked

    beating.child.kill('SIGINT');
    const signalled = Date.now();
    expect(await beating.exit, beating.stderr()).toBe(0);
    const sent = Number(/stopped: (\d+) heartbeats? of store berlin published to Kafka/.exec(beating.stderr())?.[1]);
    expect(sent).toBeGreaterThanOrEqual(1);
    const lines = beating.stdout().trim().split('\n');
    expect(lines).toHaveLength(sent); // one line per heartbeat sent
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}heartbeat \d+ {2}store berlin$/);

    // Stale once its last heartbeat is older than the SLA. The last was sent at most one interval
    // before the signal, so it is stale at most SLA + interval after it. Consume lag cannot delay
    // that (a heartbeat projected late is as old as it was sent), it only delays a *fresh* view;
    // what is allowed on top is one `stores` run (a node start and a query: ~1 s here), as
    // the poll that sees the change starts before it.
    await until(each, 'berlin', 'stale', 15_000);
    const staleAfter = Date.now() - signalled;
    expect(staleAfter).toBeLessThanOrEqual(SLA_MS + EVERY_MS + 2000);
    const stale = await storesOf(each);
    expect(stale.get('berlin')!.ageMs!).toBeGreaterThan(SLA_MS);
    expect(stale.get('quiet')?.freshness).toBe('unknown'); // never heartbeat: not watched, never stale
    const marked = await each.cli('list', 'stock', '--store', 'berlin');
    expect(marked.stdout).toContain('9 (stale)');
    expect(marked.stdout).toMatch(/may not be available/);
    const quiet = await each.cli('list', 'stock', '--store', 'quiet', '--json');
    expect(JSON.parse(quiet.stdout)).toMatchObject([{ store: 'quiet', available: 5, freshness: 'unknown', lastHeartbeat: null }]);
    const table2 = await each.cli('stores');
    expect(table2.stdout).toMatch(/│ berlin .*│ STALE/);

    // Heartbeats again: fresh once the first new one is projected (consume lag only).
    const again = start(each, 'store', 'heartbeat', '--store', 'berlin', '--every', '1s', '--via', 'kafka');
    await until(each, 'berlin', 'fresh', 20_000);
    again.child.kill('SIGTERM');
    expect(await again.exit, again.stderr()).toBe(0);
    expect(again.stderr()).toMatch(/stopped: \d+ heartbeats? of store berlin/);

    consume.child.kill('SIGINT');
    expect(await consume.exit, consume.stderr()).toBe(0);
  });

  it('--count bounds it; --store and --every are checked before anything is sent', async () => {
    const each = await world();
    const counted = await each.cli('store', 'heartbeat', '--store', 'oslo', '--every', '100ms', '--count', '3', '--via', 'db', '--json');
    expect(counted.code, counted.stderr).toBe(0);
    expect(JSON.parse(counted.stdout)).toMatchObject({ store: 'oslo', via: 'db', sent: 3, everyMs: 100, interrupted: false });
    expect((await storesOf(each)).get('oslo')?.freshness).toBe('fresh');

    const badStore = await each.cli('store', 'heartbeat', '--store', 'a/b', '--count', '1');
    expect(badStore.code).toBe(2);
    expect(badStore.stderr).toMatch(/--store: 'a\/b' is not a valid store id/);
    const badEvery = await each.cli('store', 'heartbeat', '--store', 'oslo', '--every', 'often', '--count', '1');
    expect(badEvery.code).toBe(2);
    expect(badEvery.stderr).toMatch(/--every: 'often' is not a duration from 100ms to 1d:/);
    const missing = await each.cli('store', 'heartbeat');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--store/);
  });
});
