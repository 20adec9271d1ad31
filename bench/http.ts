import { readFile } from 'node:fs/promises';
import os from 'node:os';
import autocannon from 'autocannon';
import type { Db } from 'mongodb';
import { purchasesOf, stockOf } from '../src/db/collections.js';
import type { Catalog } from '../src/services/buy.js';
import type { Cli, RunningCli } from './cli.js';
import { round, type HttpRow } from './report.js';
import type { World } from './workspace.js';

// `shopctl serve` under load, next to the same operations through the CLI. The server is the
// compiled CLI as a child process (`serve --port 0` on 127.0.0.1, one per path), loaded by
// autocannon in the bench's own process for a bounded time per figure: reads (GET /stock) and
// writes (POST /purchases, a random existing customer and product, quantity 1). The CLI does the
// same operations one process each, as a script calling shopctl would, and `buy --random` once
// for what one process does with many purchases.

export type Via = 'db' | 'kafka';

export interface HttpSettings {
  /** Seconds of load per figure. */
  seconds: number;
  /** Concurrent connections, one figure each. */
  connections: number[];
  /** A server per path; GET /stock is read from MongoDB whatever the path, so only on the first. */
  vias: Via[];
  /** Sequential runs of each one-operation CLI command. */
  cliRuns: number;
  /** Purchases of the one `buy --random` process per path. */
  cliCount: number;
  /** Seconds of unmeasured load per endpoint after a server starts (JIT, connections). */
  warmupSeconds: number;
  seed: number;
}

export const STOCK_PATH = '/stock?limit=100';

export interface Latency {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One autocannon run. */
export interface LoadRun {
  endpoint: string;
  via: Via;
  connections: number;
  warmup: boolean;
  /** Seconds the load lasted. */
  seconds: number;
  /** Requests sent and responses received. */
  sent: number;
  responses: number;
  ok: number;
  /** 2xx responses per second. */
  perSecond: number;
  /** Of every response, in ms. */
  latencyMs: Latency;
  statusCodes: Record<string, number>;
  non2xx: number;
  /** 422: the shop refused (e.g. insufficient_stock): counted apart, not a failure. */
  refused: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  /** Requests sent and not answered when the load stopped (the server still works on them). */
  inFlight: number;
  /** How long the request sent after the load took (it waits behind those in flight). */
  drainMs: number;
  /** Its status (0: no answer in 60 s); null when nothing was in flight. */
  probeStatus: number | null;
  /** CPU time of the server process over the load and the wait (null without /proc). */
  serverCpuMs: number | null;
  /** serverCpuMs per request sent (those left in flight, and the one after, are answered during the wait). */
  serverCpuMsPerRequest: number | null;
}

/** A CLI command run `runs` times, one after another, a process each. */
export interface CliRuns {
  figure: string;
  via: Via | null;
  args: string[];
  runs: number;
  /** Every process, start to exit. */
  wallMs: number[];
  /** Operations per second over all the runs: runs / their summed wall time. */
  perSecond: number;
  p50Ms: number;
  /** Nearest rank: with fewer than 100 runs, the slowest. */
  p99Ms: number;
  /** The command's own clock (its --json elapsedMs), where it gives one. */
  commandMs: number[] | null;
  peakRss: number | null;
}

/** One process doing many purchases: `buy --random --count N --quantity 1`. */
export interface CliBatch {
  figure: string;
  via: Via;
  count: number;
  /** By the command's own clock (generating and writing; not start-up). */
  perSecond: number;
  elapsedMs: number;
  wallMs: number;
  peakRss: number | null;
}

export interface ServerRun {
  via: Via;
  url: string;
  pid: number;
  /** From spawning to the address on stdout. */
  startMs: number;
  exitCode: number | null;
  signal: string | null;
  peakRss: number | null;
  /** Its warnings on stderr (`request failed` for every 5xx). */
  warnings: string[];
  /** Access log lines by status (requests whose client went away have none). */
  logged: Record<string, number>;
}

export interface HttpMeasurement {
  settings: HttpSettings;
  /** 1-minute load average when the HTTP part started (the whole machine: 2 cores shared). */
  loadAverage: number;
  customers: number;
  products: number;
  servers: ServerRun[];
  loads: LoadRun[];
  cli: CliRuns[];
  batches: CliBatch[];
  /**
   * After the --via db server: every purchase it answered 200 is in MongoDB (and those left in
   * flight at most), and the stock went down by exactly one unit per purchase (no lost update
   * among concurrent writes).
   */
  consistency: {
    answered: number;
    leftInFlight: number;
    purchases: number;
    unitsSold: number;
  } | null;
  /** POST /purchases at the most connections against one connection, per path. */
  groupCommit: Array<{ via: Via; connections: number; perSecond: number; atOne: number; ratio: number }>;
  /** What makes the run fail: 5xx, connection errors, timeouts, 4xx other than refusals, server warnings. */
  problems: string[];
}

type Log = (text: string) => void;

/** Small, seeded and fast: the bench picks customers and products with it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(items: readonly T[], next: () => number): T => items[Math.floor(next() * items.length)]!;

/** Nearest-rank percentile of a non-empty list. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

interface Server {
  via: Via;
  url: string;
  handle: RunningCli;
  startMs: number;
}

const SERVER_START_TIMEOUT_MS = 30_000;
const SERVER_STOP_TIMEOUT_MS = 20_000;

/** `serve --host 127.0.0.1 --port 0 --via V`; resolves when it prints its address. */
async function startServer(cli: Cli, world: World, via: Via): Promise<Server> {
  const started = performance.now();
  let seen = '';
  let found!: (url: string) => void;
  const address = new Promise<string>((resolve) => (found = resolve));
  // As serve runs by default: with its access log (a line per request on stderr, which the
  // bench reads and keeps) and warnings (`request failed` for every 5xx).
  const handle = cli.start(['--config', world.configPath, 'serve', '--host', '127.0.0.1', '--port', '0', '--via', via], {
    env: { SHOPCTL_LOG: 'info' },
    onStdout: (text) => {
      seen += text;
      const match = /serving (http:\/\/\S+)/.exec(seen);
      if (match?.[1]) found(match[1]);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const url = await Promise.race([
      address,
      handle.result.then((result) => {
        throw new Error(`shopctl serve --via ${via} exited with ${result.code ?? result.signal} before serving:\n${result.stderr.trim() || result.stdout.trim()}`);
      }),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`shopctl serve --via ${via} printed no address in ${SERVER_START_TIMEOUT_MS / 1000} s`)), SERVER_START_TIMEOUT_MS);
      }),
    ]);
    return { via, url, handle, startMs: Math.round(performance.now() - started) };
  } catch (error) {
    await stopServer({ via, url: '', handle, startMs: 0 });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM to its pid, and SIGKILL if it has not exited in time. Never throws. */
async function stopServer(server: Server): Promise<ServerRun> {
  const { handle } = server;
  handle.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SERVER_STOP_TIMEOUT_MS)));
  let result = await Promise.race([handle.result.catch(() => null), late]);
  clearTimeout(timer);
  const warnings: string[] = [];
  const logged: Record<string, number> = {};
  if (result === null) {
    warnings.push(`did not exit within ${SERVER_STOP_TIMEOUT_MS / 1000} s of SIGTERM: killed`);
    handle.kill('SIGKILL');
    result = await handle.result.catch(() => null);
  }
  for (const line of (result?.stderr ?? '').split('\n')) {
    const status = /^\S+ info \[shopctl:http\] request \{.*"status":(\d+)/.exec(line)?.[1];
    if (status) logged[status] = (logged[status] ?? 0) + 1;
    else if (/^\S+ warn /.test(line) || /^(error|warning) /i.test(line)) warnings.push(line.slice(0, 2000));
  }
  if (warnings.length > 20) warnings.splice(20, warnings.length - 20, `… and ${warnings.length - 20} more warnings`);
  return {
    via: server.via,
    url: server.url,
    pid: handle.pid,
    startMs: server.startMs,
    exitCode: result?.code ?? null,
    signal: result?.signal ?? null,
    peakRss: result?.peakRss ?? null,
    warnings,
    logged,
  };
}

/** User + system CPU time of a process so far, in ms (Linux /proc; USER_HZ is 100). */
async function cpuMsOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the 3rd, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  /** A request body per request (POST). */
  body?: (next: () => number) => string;
}

/** autocannon against one endpoint for `seconds`. */
async function load(server: Server, endpoint: Endpoint, connections: number, seconds: number, seed: number, warmup: boolean): Promise<LoadRun> {
  const next = random(seed);
  const makeBody = endpoint.body;
  const cpuBefore = await cpuMsOf(server.handle.pid);
  const result = await autocannon({
    url: server.url,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: endpoint.method,
        path: endpoint.path,
        headers: makeBody ? { 'content-type': 'application/json' } : {},
        ...(makeBody ? { setupRequest: (request) => ({ ...request, body: makeBody(next) }) } : {}),
      },
    ],
  });
  // autocannon stops at the deadline and closes its connections, but the server still works on
  // what was in flight (up to one request per connection; a purchase is still applied): the
  // next figure must not start on that backlog. One more request of the same kind, sent now,
  // is answered behind it (writes go in the order they came, reads share the same queues), and
  // then the server is idle again. (The server's access log cannot tell: it has no line for a
  // request whose client went away.)
  const inFlight = Math.max(0, result.requests.sent - result.requests.total);
  let drainMs = 0;
  let probeStatus: number | null = null;
  if (inFlight > 0) {
    const started = performance.now();
    try {
      const response = await fetch(`${server.url}${endpoint.path}`, {
        method: endpoint.method,
        ...(makeBody ? { headers: { 'content-type': 'application/json' }, body: makeBody(next) } : {}),
        signal: AbortSignal.timeout(60_000),
      });
      await response.arrayBuffer();
      probeStatus = response.status;
    } catch {
      probeStatus = 0;
    }
    drainMs = Math.round(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const cpuAfter = await cpuMsOf(server.handle.pid);
  const serverCpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  return {
    endpoint: endpoint.name,
    via: server.via,
    connections,
    warmup,
    seconds: result.duration,
    sent: result.requests.sent,
    responses: result.requests.total,
    ok: result['2xx'],
    perSecond: result.duration > 0 ? round(result['2xx'] / result.duration, 1) : 0,
    latencyMs: { mean: round(result.latency.mean, 1), p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    statusCodes,
    non2xx: result.non2xx,
    refused: statusCodes['422'] ?? 0,
    errors: result.errors,
    timeouts: result.timeouts,
    inFlight,
    drainMs,
    probeStatus,
    serverCpuMs,
    serverCpuMsPerRequest: serverCpuMs === null || result.requests.sent === 0 ? null : round(serverCpuMs / (result.requests.sent + (probeStatus === null ? 0 : 1)), 2),
  };
}

function problemsOf(run: LoadRun): string[] {
  const what = `${run.endpoint} --via ${run.via}, ${run.connections} connection${run.connections === 1 ? '' : 's'}${run.warmup ? ' (warm-up)' : ''}`;
  const problems: string[] = [];
  const serverErrors = Object.entries(run.statusCodes).filter(([code]) => Number(code) >= 500);
  const otherwise = Object.entries(run.statusCodes).filter(([code]) => (Number(code) < 200 || Number(code) >= 300) && Number(code) < 500 && code !== '422');
  if (serverErrors.length > 0) problems.push(`${what}: ${serverErrors.map(([code, count]) => `${count} x ${code}`).join(', ')}`);
  if (otherwise.length > 0) problems.push(`${what}: unexpected ${otherwise.map(([code, count]) => `${count} x ${code}`).join(', ')} (the bench's requests are wrong, or the API changed)`);
  if (run.errors > 0) problems.push(`${what}: ${run.errors} connection errors (${run.timeouts} timeouts)`);
  // A short load on a busy machine may end before the first answer: the request sent after it
  // then shows the endpoint works.
  const probeOk = run.probeStatus !== null && run.probeStatus >= 200 && run.probeStatus < 300;
  if (run.ok === 0 && !probeOk) problems.push(`${what}: no 2xx response at all`);
  if (run.probeStatus !== null && (run.probeStatus < 200 || run.probeStatus >= 300) && run.probeStatus !== 422) {
    problems.push(`${what}: the request sent after the load got ${run.probeStatus === 0 ? 'no answer in 60 s' : run.probeStatus}`);
  }
  return problems;
}

async function timesOf(cli: Cli, figure: string, via: Via | null, runs: number, argsOf: (run: number) => string[], check: (stdout: string) => number | null): Promise<CliRuns> {
  const wallMs: number[] = [];
  const commandMs: number[] = [];
  let peakRss: number | null = null;
  let args: string[] = [];
  for (let run = 0; run < runs; run += 1) {
    args = argsOf(run);
    const result = await cli.run(args);
    wallMs.push(round(result.wallMs, 1));
    const own = check(result.stdout);
    if (own !== null) commandMs.push(own);
    if (result.peakRss !== null) peakRss = Math.max(peakRss ?? 0, result.peakRss);
  }
  const total = wallMs.reduce((sum, ms) => sum + ms, 0);
  return {
    figure,
    via,
    args,
    runs,
    wallMs,
    perSecond: total > 0 ? round((runs * 1000) / total, 2) : 0,
    p50Ms: percentile(wallMs, 50),
    p99Ms: percentile(wallMs, 99),
    commandMs: commandMs.length === runs ? commandMs : null,
    peakRss,
  };
}

interface WriteJson {
  count: number;
  elapsedMs: number;
  rejected: unknown[];
  conflicts: unknown[];
}

function parseWrite(stdout: string, expected: number, what: string): WriteJson {
  const output = JSON.parse(stdout) as WriteJson;
  if (output.count !== expected || output.rejected.length > 0 || output.conflicts.length > 0) {
    throw new Error(`${what}: wrote ${output.count} of ${expected} (${output.rejected.length} refused, ${output.conflicts.length} conflicts)`);
  }
  return output;
}

/** The HTTP part of the run, in a prepared world (customers, products with stock). */
export async function measureHttp(cli: Cli, world: World, db: Db, catalog: Catalog, settings: HttpSettings, log: Log): Promise<HttpMeasurement> {
  const skus = catalog.products.map((product) => product.sku);
  const customers = catalog.customers;
  const config = ['--config', world.configPath];
  const stock: Endpoint = { name: `GET ${STOCK_PATH}`, method: 'GET', path: STOCK_PATH };
  const purchase: Endpoint = {
    name: 'POST /purchases',
    method: 'POST',
    path: '/purchases',
    body: (next) => JSON.stringify({ customer: pick(customers, next), product: pick(skus, next), quantity: 1 }),
  };
  const expectedRows = Math.min(100, skus.length);
  const measurement: HttpMeasurement = {
    settings,
    loadAverage: round(os.loadavg()[0] ?? 0, 2),
    customers: customers.length,
    products: skus.length,
    servers: [],
    loads: [],
    cli: [],
    batches: [],
    groupCommit: [],
    consistency: null,
    problems: [],
  };
  const record = (run: LoadRun): void => {
    measurement.loads.push(run);
    measurement.problems.push(...problemsOf(run));
    if (!run.warmup) {
      log(`http: ${run.endpoint} --via ${run.via}, ${run.connections} conn: ${run.perSecond}/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}; server CPU ${run.serverCpuMsPerRequest ?? '?'} ms a request${run.drainMs > 0 ? `; ${run.inFlight} left in flight, answered within ${run.drainMs} ms` : ''}`);
    }
  };
  let seed = settings.seed;

  for (const [index, via] of settings.vias.entries()) {
    const endpoints = index === 0 ? [stock, purchase] : [purchase];
    log(`http: shopctl serve --via ${via} (127.0.0.1, any free port)`);
    const server = await startServer(cli, world, via);
    try {
      log(`http: serving ${server.url} (pid ${server.handle.pid}, up in ${server.startMs} ms); warm-up ${settings.warmupSeconds} s per endpoint`);
      if (index === 0) {
        const page = (await (await fetch(`${server.url}${STOCK_PATH}`)).json()) as { items?: unknown[] };
        if (page.items?.length !== expectedRows) throw new Error(`GET ${STOCK_PATH} gave ${page.items?.length ?? 'no'} rows, not ${expectedRows}`);
      }
      for (const endpoint of endpoints) record(await load(server, endpoint, 10, settings.warmupSeconds, (seed += 1), true));
      for (const endpoint of endpoints) {
        for (const connections of settings.connections) {
          log(`http: ${endpoint.name} --via ${via}, ${connections} connection${connections === 1 ? '' : 's'}, ${settings.seconds} s`);
          record(await load(server, endpoint, connections, settings.seconds, (seed += 1), false));
        }
      }
    } finally {
      const stopped = await stopServer(server);
      measurement.servers.push(stopped);
      const logged = Object.entries(stopped.logged).map(([status, count]) => `${count} x ${status}`).join(', ') || 'none';
      log(`http: serve --via ${via} stopped (pid ${stopped.pid}): exit ${stopped.exitCode ?? stopped.signal}, peak RSS ${stopped.peakRss === null ? '?' : `${Math.round(stopped.peakRss / 1024 / 1024)} MB`}, access log: ${logged}`);
      for (const warning of stopped.warnings) measurement.problems.push(`serve --via ${via}: ${warning}`);
      if (stopped.exitCode !== 0) measurement.problems.push(`serve --via ${via} exited with ${stopped.exitCode ?? stopped.signal} on SIGTERM`);
    }

    if (via === 'db') {
      const posted = measurement.loads.filter((run) => run.via === 'db' && run.endpoint === purchase.name);
      const consistency = await consistencyOf(db, world, skus.length, posted);
      measurement.consistency = consistency;
      log(`http: --via db: ${consistency.answered} purchases answered 200 (+ ${consistency.leftInFlight} left in flight), ${consistency.purchases} in MongoDB, ${consistency.unitsSold} units off the stock`);
      if (consistency.purchases < consistency.answered || consistency.purchases > consistency.answered + consistency.leftInFlight) {
        measurement.problems.push(`--via db: ${consistency.answered} purchases answered 200 (${consistency.leftInFlight} more left in flight) but ${consistency.purchases} in MongoDB`);
      }
      if (consistency.unitsSold !== consistency.purchases) {
        measurement.problems.push(`--via db: ${consistency.purchases} purchases of one unit, but the stock went down by ${consistency.unitsSold} units (a lost or doubled update)`);
      }
    }

    const posts = measurement.loads.filter((run) => !run.warmup && run.via === via && run.endpoint === purchase.name);
    const one = posts.find((run) => run.connections === 1);
    const most = posts.reduce<LoadRun | null>((best, run) => (best === null || run.connections > best.connections ? run : best), null);
    if (one && most && most !== one && one.perSecond > 0) {
      measurement.groupCommit.push({ via, connections: most.connections, perSecond: most.perSecond, atOne: one.perSecond, ratio: round(most.perSecond / one.perSecond, 2) });
    }

    // The same operations through the CLI, a process each, after the server has stopped.
    const next = random((seed += 1));
    if (index === 0) {
      log(`http: list stock --json --limit 100, ${settings.cliRuns} processes one after another`);
      measurement.cli.push(
        await timesOf(cli, 'list stock --json --limit 100', null, settings.cliRuns, () => [...config, 'list', 'stock', '--json', '--limit', '100'], (stdout) => {
          const rows = JSON.parse(stdout) as unknown[];
          if (rows.length !== expectedRows) throw new Error(`list stock --json --limit 100 printed ${rows.length} rows, not ${expectedRows}`);
          return null;
        }),
      );
    }
    log(`http: buy --customer --product --via ${via}, ${settings.cliRuns} processes one after another`);
    measurement.cli.push(
      await timesOf(
        cli,
        `buy --customer C --product P --via ${via}`,
        via,
        settings.cliRuns,
        () => [...config, 'buy', '--customer', pick(customers, next), '--product', pick(skus, next), '--quantity', '1', '--via', via, '--json'],
        (stdout) => parseWrite(stdout, 1, `buy --customer --product --via ${via}`).elapsedMs,
      ),
    );
    log(`http: buy --random --count ${settings.cliCount} --quantity 1 --via ${via}, one process`);
    const result = await cli.run([...config, 'buy', '--random', '--count', String(settings.cliCount), '--quantity', '1', '--via', via, '--seed', String((seed += 1)), '--json']);
    const output = parseWrite(result.stdout, settings.cliCount, `buy --random --via ${via}`);
    measurement.batches.push({
      figure: `buy --random --count ${settings.cliCount} --via ${via}`,
      via,
      count: output.count,
      perSecond: output.elapsedMs > 0 ? Math.round((output.count * 1000) / output.elapsedMs) : 0,
      elapsedMs: output.elapsedMs,
      wallMs: Math.round(result.wallMs),
      peakRss: result.peakRss,
    });
  }
  return measurement;
}

/** The table: per path, each endpoint at each connection count, then the CLI doing the same. */
export function httpRows(measurement: HttpMeasurement): HttpRow[] {
  const rows: HttpRow[] = [];
  const { settings } = measurement;
  const loadRows = (endpoint: string, via: Via, cli: CliRuns | undefined): HttpRow[] => {
    const runs = measurement.loads.filter((run) => !run.warmup && run.via === via && run.endpoint === endpoint);
    const one = runs.find((run) => run.connections === 1);
    return runs.map((run) => ({
      figure: `${endpoint}${endpoint.startsWith('GET') ? '' : ` --via ${via}`}, ${settings.seconds} s`,
      connections: run.connections,
      perSecond: run.perSecond,
      p50Ms: run.responses > 0 ? run.latencyMs.p50 : null,
      p99Ms: run.responses > 0 ? run.latencyMs.p99 : null,
      non2xx: run.non2xx,
      errors: run.errors,
      vsOne: one && one.perSecond > 0 ? round(run.perSecond / one.perSecond, 2) : null,
      vsCli: cli && cli.perSecond > 0 ? round(run.perSecond / cli.perSecond, 1) : null,
      ...(notes(run).length > 0 ? { note: notes(run).join('; ') } : {}),
    }));
  };
  const notes = (run: LoadRun): string[] => [
    ...(run.responses === 0 ? [`no answer within the ${run.seconds} s (the one sent after: ${run.probeStatus ?? '-'})`] : []),
    ...(run.refused > 0 ? [`${run.refused} refused (422)`] : []),
  ];
  const cliRow = (cli: CliRuns): HttpRow => ({
    figure: `shopctl ${cli.figure}`,
    connections: null,
    perSecond: cli.perSecond,
    p50Ms: cli.p50Ms,
    p99Ms: cli.p99Ms,
    non2xx: null,
    errors: null,
    vsOne: null,
    vsCli: null,
    note: `a process each, ${cli.runs} one after another${cli.runs < 100 ? ' (p99: the slowest)' : ''}`,
  });
  for (const [index, via] of settings.vias.entries()) {
    const list = index === 0 ? measurement.cli.find((cli) => cli.figure.startsWith('list stock')) : undefined;
    const buy = measurement.cli.find((cli) => cli.via === via && cli.figure.startsWith('buy'));
    if (index === 0) {
      rows.push(...loadRows(`GET ${STOCK_PATH}`, via, list));
      if (list) rows.push(cliRow(list));
    }
    rows.push(...loadRows('POST /purchases', via, buy));
    if (buy) rows.push(cliRow(buy));
    for (const batch of measurement.batches.filter((each) => each.via === via)) {
      rows.push({
        figure: `shopctl ${batch.figure}`,
        connections: null,
        perSecond: batch.perSecond,
        p50Ms: null,
        p99Ms: null,
        non2xx: null,
        errors: null,
        vsOne: null,
        vsCli: null,
        note: `one process, by its own clock (${batch.elapsedMs.toLocaleString('en-US')} ms; ${batch.wallMs.toLocaleString('en-US')} ms with start-up)`,
      });
    }
  }
  return rows;
}

/** Purchases in MongoDB and units gone from the stock, against what the server answered. */
async function consistencyOf(db: Db, world: World, products: number, posted: readonly LoadRun[]): Promise<NonNullable<HttpMeasurement['consistency']>> {
  const initial = 'initialStock' in world.config.inventory ? world.config.inventory.initialStock : 0;
  const [purchases, levels] = await Promise.all([
    purchasesOf(db).countDocuments({}),
    stockOf(db)
      .find({ store: world.config.inventory.defaultStore }, { projection: { level: 1 } })
      .toArray(),
  ]);
  const left = levels.reduce((sum, doc) => sum + doc.level, 0);
  return {
    answered: posted.reduce((sum, run) => sum + run.ok + (run.probeStatus !== null && run.probeStatus >= 200 && run.probeStatus < 300 ? 1 : 0), 0),
    leftInFlight: posted.reduce((sum, run) => sum + run.inFlight, 0),
    purchases,
    unitsSold: initial * products - left,
  };
}
