import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { cliCommand, repoRoot, spawnCli } from '../helpers/cli.js';
import { topicEnd, waitFor } from '../helpers/env.js';
import { worlds, type World } from '../helpers/worlds.js';

// Ctrl-C (SIGINT) and SIGTERM sent to the built binary (spawnCli runs `node bin/shopctl.js`)
// in the middle of a run. A command with a fixed amount of work (make, buy --random) stops
// making events, finishes the chunk in flight, prints how far it got and exits 130; a second
// signal ends it at once. A command that runs until stopped (consume, alerts --follow) prints its
// totals and exits 0.

interface Running {
  stdout: () => string;
  stderr: () => string;
  /** Sends the signal; resolves with the exit code (null: killed by a signal) and the ms from this signal to the exit. */
  signal: (name: NodeJS.Signals) => void;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; msAfterSignal: number }>;
}

const count = (text: string): number => Number(text.replaceAll(',', ''));

/** A TCP forwarder to `target` that, once stalled, holds every answer back (the server seems to hang). */
async function stallingProxy(target: string): Promise<{ endpoint: string; stall: () => void; close: () => void }> {
  const [host = '127.0.0.1', port = ''] = target.split(':');
  const sockets = new Set<net.Socket>();
  let stalled = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (data: Buffer) => upstream.write(data));
    upstream.on('data', (data: Buffer) => {
      if (!stalled) client.write(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stall: () => (stalled = true),
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

describe('signals', () => {
  const { world, cleanUp } = worlds('sig');

  /** A world with customers and products (a million units each at the default store) in MongoDB. */
  async function shop(): Promise<World> {
    const each = await world();
    const customers = await each.cli('make', 'customers', '--count', '20', '--seed', '21', '--via', 'db');
    expect(customers.code, customers.stderr).toBe(0);
    const products = await each.cli('make', 'products', '--count', '10', '--seed', '22', '--stock', '1000000', '--via', 'db');
    expect(products.code, products.stderr).toBe(0);
    return each;
  }

  function start(each: World, args: string[], env: Record<string, string> = {}): Running {
    const child = spawnCli(['--config', each.file, ...args], env);
    let stdout = '';
    let stderr = '';
    let signalledAt = 0;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; msAfterSignal: number }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal, msAfterSignal: Math.round(performance.now() - signalledAt) })),
    );
    return {
      stdout: () => stdout,
      stderr: () => stderr,
      signal: (name) => {
        signalledAt = performance.now();
        child.kill(name);
      },
      exit,
    };
  }

  afterAll(cleanUp);

  const published = async (each: World): Promise<number> => topicEnd(each.config, each.config.kafka.topics.customers);
  const firstPublished = (each: World) =>
    waitFor(async () => ((await published(each)) > 0 ? true : undefined), 60_000, 'the first customers in Kafka');

  it('make customers --via kafka: SIGINT mid-run stops after the chunk in flight, says how many of how many, exit 130', async () => {
    const each = await world();
    const run = start(each, ['make', 'customers', '--count', '200000', '--via', 'kafka']);
    await firstPublished(each);
    run.signal('SIGINT');
    const exit = await run.exit;
    const output = `${run.stdout()}\n${run.stderr()}`;
    expect(exit.code, output).toBe(130);

    const line = /^interrupted: ([\d,]+) of 200,000 customers published to Kafka \(127\.0\.0\.1:\d+(?:,[^)]*)?\) in [\d.]+s \([\d,]+\/s\)$/m.exec(run.stdout());
    expect(line, output).not.toBeNull();
    const reported = count(line![1]!);
    expect(reported).toBeGreaterThan(0);
    expect(reported).toBeLessThan(200_000); // it did stop: 200,000 take far longer than the wait above
    // What it says is what Kafka holds: the chunk in flight was finished and counted, no other was sent.
    expect(await published(each)).toBe(reported);
    expect(run.stderr()).toContain('stopping after the chunk in flight (Ctrl-C again to stop at once)');
    // Without --seed a second run does not repeat these events: it says so.
    expect(run.stderr()).toContain(`the other ${(200_000 - reported).toLocaleString('en-US')} were not made; without --seed a new run makes new events`);
    expect(exit.msAfterSignal).toBeLessThan(15_000);
  });

  it('make customers --via kafka --json: SIGTERM gives the JSON summary with interrupted and total, exit 130', async () => {
    const each = await world();
    const run = start(each, ['make', 'customers', '--count', '200000', '--seed', '5', '--via', 'kafka', '--json']);
    await firstPublished(each);
    run.signal('SIGTERM');
    const exit = await run.exit;
    expect(exit.code, run.stderr()).toBe(130);
    const summary = JSON.parse(run.stdout()) as { what: string; via: string; count: number; total: number; interrupted: boolean };
    expect(summary).toMatchObject({ what: 'customers', via: 'kafka', interrupted: true, total: 200_000 });
    expect(summary.count).toBeGreaterThan(0);
    expect(summary.count).toBeLessThan(200_000);
    expect(await published(each)).toBe(summary.count);
    // Seeded: running it again finishes the rest, with no second effect.
    expect(run.stderr()).toContain(`run the same command again to finish the other ${(200_000 - summary.count).toLocaleString('en-US')}`);
  });

  it('buy --random --via db: SIGINT then SIGTERM runs each stop cleanly; what is reported is what MongoDB holds, exit 130', async () => {
    const each = await shop();
    const purchases = each.mongo.db.collection('purchases');
    const firstPurchase = (before: number) =>
      waitFor(async () => ((await purchases.countDocuments()) > before ? true : undefined), 60_000, 'purchases in MongoDB');

    const run = start(each, ['buy', '--random', '--count', '200000', '--via', 'db']);
    await firstPurchase(0);
    run.signal('SIGINT');
    const exit = await run.exit;
    const output = `${run.stdout()}\n${run.stderr()}`;
    expect(exit.code, output).toBe(130);
    const line = new RegExp(`^interrupted: ([\\d,]+) of 200,000 purchases written into MongoDB database '${each.config.mongodb.db}' in [\\d.]+s`, 'm').exec(run.stdout());
    expect(line, output).not.toBeNull();
    const reported = count(line![1]!);
    expect(reported).toBeGreaterThan(0);
    expect(reported).toBeLessThan(200_000);
    expect(await purchases.countDocuments()).toBe(reported);

    const again = start(each, ['buy', '--random', '--count', '200000', '--seed', '7', '--via', 'db', '--json']);
    await firstPurchase(reported);
    again.signal('SIGTERM');
    const second = await again.exit;
    expect(second.code, again.stderr()).toBe(130);
    const summary = JSON.parse(again.stdout()) as { count: number; total: number; interrupted: boolean; via: string };
    expect(summary).toMatchObject({ via: 'db', interrupted: true, total: 200_000 });
    expect(summary.count).toBeGreaterThan(0);
    expect(await purchases.countDocuments()).toBe(reported + summary.count);
  });

  it('a second Ctrl-C stops at once, while the chunk in flight hangs, saying how far it got (exit 130)', async () => {
    const each = await shop();
    const purchases = each.mongo.db.collection('purchases');
    // MongoDB through a forwarder that can stop answering: the chunk in flight then never ends.
    const proxy = await stallingProxy(each.config.mongodb.uri.replace(/^mongodb:\/\//, '').replace(/[/?].*$/, ''));
    try {
      const run = start(each, ['buy', '--random', '--count', '200000', '--via', 'db'], { SHOPCTL_MONGODB_URI: `mongodb://${proxy.endpoint}/?directConnection=true` });
      await waitFor(async () => ((await purchases.countDocuments()) > 0 ? true : undefined), 60_000, 'purchases in MongoDB');
      proxy.stall();
      run.signal('SIGINT');
      await waitFor(() => (run.stderr().includes('stopping after the chunk in flight') ? true : undefined), 10_000, 'the first signal to be taken');
      // The first Ctrl-C waits for the chunk in flight, which hangs.
      const early = await Promise.race([run.exit.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('running'), 1_000))]);
      expect(early, run.stderr()).toBe('running');
      run.signal('SIGINT');
      const exit = await run.exit;
      expect(exit.code, run.stderr()).toBe(130);
      expect(run.stderr()).toMatch(/interrupted again: stopped at once with [\d,]+ of 200,000 purchases written; the chunk in flight may be written in part/);
      expect(exit.msAfterSignal).toBeLessThan(2_000);
    } finally {
      proxy.close();
    }
  });

  it('under `npx shopctl` (npm exec), losing its parent stops it as SIGTERM would; run otherwise, it does not', async () => {
    // npm 11 does not pass SIGTERM on to shopctl: it exits and leaves shopctl, its grandchild
    // through `sh -c`, running. Here `sh` stands for npm's shell: killing it orphans shopctl.
    const each = await world();
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const orphan = async (env: Record<string, string | undefined>) => {
      const [node, argv] = cliCommand(['--config', each.file, 'alerts', '--follow', '--interval', '0.5']);
      const quoted = [node, ...argv].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
      const shell = spawn('sh', ['-c', `${quoted} & echo "pid $!"; wait`], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: 'pipe' });
      let stdout = '';
      let stderr = '';
      shell.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const pid = Number(await waitFor(() => /^pid (\d+)$/m.exec(stdout)?.[1], 10_000, 'the pid of shopctl'));
      await waitFor(() => (stderr.includes('watching stock levels') ? true : undefined), 60_000, 'the watcher to start');
      shell.kill('SIGKILL');
      return { pid, stderr: () => stderr };
    };

    const underNpx = await orphan({ npm_command: 'exec', npm_lifecycle_script: "'shopctl'" });
    await waitFor(() => (alive(underNpx.pid) ? undefined : true), 10_000, 'the orphaned shopctl to stop');
    expect(underNpx.stderr()).toMatch(/stopped: \d+ alerts raised, \d+ active/);

    const plain = await orphan({ npm_command: undefined, npm_lifecycle_script: undefined });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(alive(plain.pid)).toBe(true); // started by hand (nohup, &), it keeps running
    } finally {
      process.kill(plain.pid, 'SIGTERM');
    }
    await waitFor(() => (alive(plain.pid) ? undefined : true), 10_000, 'shopctl to stop on SIGTERM');
  });

  it('consume and alerts --follow stop on SIGTERM / SIGINT within seconds, with their totals, exit 0', async () => {
    const each = await world();
    const made = await each.cli('make', 'customers', '--count', '50', '--seed', '3', '--via', 'kafka');
    expect(made.code, made.stderr).toBe(0);

    const consume = start(each, ['consume']);
    const customers = each.mongo.db.collection('customers');
    await waitFor(async () => ((await customers.countDocuments()) === 50 ? true : undefined), 60_000, 'consume to apply the 50 customers');
    consume.signal('SIGTERM');
    const consumed = await consume.exit;
    expect(consumed.code, consume.stderr()).toBe(0);
    expect(consume.stderr()).toMatch(/stopped: applied 50, duplicates skipped 0, retried later 0, dead-lettered 0 in [\d.]+s/);
    expect(consumed.msAfterSignal).toBeLessThan(5_000);

    const alerts = start(each, ['alerts', '--follow', '--interval', '0.5']);
    await waitFor(() => (alerts.stderr().includes('watching stock levels') ? true : undefined), 60_000, 'the watcher to start');
    alerts.signal('SIGINT');
    const watched = await alerts.exit;
    expect(watched.code, alerts.stderr()).toBe(0);
    expect(alerts.stderr()).toMatch(/stopped: \d+ alerts raised, \d+ active/);
    expect(watched.msAfterSignal).toBeLessThan(5_000);
  });
});
