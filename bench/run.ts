import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Admin, Kafka } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { serverTraits, type ServerTraits } from '../src/db/client.js';
import { createKafka } from '../src/kafka/client.js';
import { loadCatalog } from '../src/services/buy.js';
import { produceCeiling, writeCeiling, type ProduceCeiling, type WriteCeiling } from './ceilings.js';
import { Cli } from './cli.js';
import { httpRows, measureHttp, type HttpMeasurement, type HttpSettings, type Via } from './http.js';
import { measureLatency, type LatencyMeasurement } from './latency.js';
import { naiveProduce, naiveProject } from './naive.js';
import { connectJars, measurePeer, WRITE_MODELS, type PeerMeasurement, type WriteModel } from './peers.js';
import {
  machineFacts,
  megabytes,
  renderHttpTable,
  renderPeerTable,
  renderScaleTable,
  renderTable,
  resolveCommit,
  revision,
  row,
  saveResult,
  type PeerLine,
  type Row,
  type ScaleLine,
} from './report.js';
import { measureBuy, measureConsume, prepareWorld, type BuyMeasurement, type ConsumeMeasurement } from './shopctl.js';
import { encodePool, purchasePool, type Throughput } from './workload.js';
import { Workspace } from './workspace.js';

const repoRoot = path.resolve(import.meta.dirname, '..');

const usage = `npm run bench -- [options]

  --events N           purchases per measurement (default 50000; 20000 with --scale)
  --catalog N          products in the catalogue of the prepared database (default 100)
  --scale              run at 100, 2,000 and 20,000 products (--events each) and compare
  --scale-events       run at 10k, 100k and 1M events and compare (10+ minutes on FerretDB)
  --consume-cap N      in --scale-events, project at most N of the events of a size (default 200000; 0: all)
  --peers              also run MongoDB's Kafka sink connector (mongo-kafka-connect 2.0.1, Kafka
                       Connect standalone) on the same topic into the same server, with its
                       default write model and insert-only (needs java and mvn)
  --rounds N           rounds of produce ceiling + buy (default 3): best and median reported
  --naive N            events for the naive way (default 1000, at most --events)
  --latency-rate R     purchases per second during the latency run (default 1000)
  --latency-seconds S  length of the latency run (default 10)
  --latency-poll MS    how often the latency run reads the products (default 50)
  --only WHAT          throughput, latency or http: run only that part
  --no-http            leave out the HTTP part (shopctl serve under autocannon, next to the CLI)
  --http-seconds S     load per HTTP figure (default: 10 at 50,000 events, less for fewer:
                       events/5,000, at least 1; CI's 2,000-event smoke: 1)
  --http-connections L concurrent connections, one figure each (default 1,10,50)
  --http-via L         servers to load: db, kafka or db,kafka (default db,kafka)
  --http-cli-runs N    one-operation CLI processes timed per command (default: like
                       --http-seconds, at least 3: 10 at 50,000 events)
  --customers N        customers in the prepared database (default 1000)
  --products N         the same as --catalog
  --baseline REF       also measure buy and consume as built from git commit REF, in the same
                       run and against the same ceilings: before/after side by side
  --no-save            do not write bench/results/<date>-<commit>.json
  -h, --help`;

/** One measured case: purchases, and products in the catalogue. */
interface Case {
  events: number;
  catalog: number;
}

interface Options {
  cases: Case[];
  /** What varies between the cases of a scale run. */
  scale: 'events' | 'catalog' | null;
  peers: boolean;
  rounds: number;
  consumeCap: number | null;
  naive: number;
  latencyRate: number;
  latencySeconds: number;
  latencyPollMs: number;
  throughput: boolean;
  latency: boolean;
  /** The HTTP part (null: not run). */
  http: HttpSettings | null;
  customers: number;
  baseline: string | null;
  save: boolean;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      scale: { type: 'boolean' },
      'scale-events': { type: 'boolean' },
      catalog: { type: 'string' },
      peers: { type: 'boolean' },
      rounds: { type: 'string' },
      'consume-cap': { type: 'string' },
      naive: { type: 'string' },
      'latency-rate': { type: 'string' },
      'latency-seconds': { type: 'string' },
      'latency-poll': { type: 'string' },
      only: { type: 'string' },
      'no-http': { type: 'boolean' },
      'http-seconds': { type: 'string' },
      'http-connections': { type: 'string' },
      'http-via': { type: 'string' },
      'http-cli-runs': { type: 'string' },
      customers: { type: 'string' },
      products: { type: 'string' },
      baseline: { type: 'string' },
      'no-save': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const int = (name: string, raw: string | undefined, fallback: number, min = 1): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw.replaceAll('_', ''));
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got '${raw}'`);
    return value;
  };
  if (values.scale && values['scale-events']) throw new Error('--scale and --scale-events do not go together');
  const scale = values.scale ? 'catalog' : values['scale-events'] ? 'events' : null;
  const only = values.only;
  if (only !== undefined && only !== 'throughput' && only !== 'latency' && only !== 'http') throw new Error(`--only must be throughput, latency or http, got '${only}'`);
  if (only === 'http' && values['no-http']) throw new Error('--only http and --no-http do not go together');
  const consumeCap = int('consume-cap', values['consume-cap'], 200_000, 0);
  if (values.catalog !== undefined && values.products !== undefined) throw new Error('--catalog and --products are the same option: give one');
  const catalog = int('catalog', values.catalog ?? values.products, 100);
  // 20,000 purchases per catalogue size: at 20,000 products each chunk of 5,000 then touches
  // ~4,400 distinct stock documents (at 100 products: 100), which is what the scale run is for.
  const events = int('events', values.events, scale === 'catalog' ? 20_000 : 50_000);
  const cases: Case[] =
    scale === 'catalog'
      ? [100, 2_000, 20_000].map((products) => ({ events, catalog: products }))
      : scale === 'events'
        ? [10_000, 100_000, 1_000_000].map((size) => ({ events: size, catalog }))
        : [{ events, catalog }];
  const list = (name: string, raw: string | undefined, fallback: string): string[] => {
    const items = (raw ?? fallback).split(',').map((item) => item.trim());
    if (items.some((item) => item === '')) throw new Error(`--${name}: expected a comma-separated list, got '${raw}'`);
    return items;
  };
  // The HTTP part scales with the run like the rest: 10 s a figure at the default 50,000
  // events, 1 s in CI's 2,000-event smoke (which must exercise it, briefly).
  const httpDefault = Math.max(1, Math.min(10, Math.round(events / 5000)));
  const connections = list('http-connections', values['http-connections'], '1,10,50').map((item) => int('http-connections', item, 1));
  const vias = list('http-via', values['http-via'], 'db,kafka');
  for (const via of vias) if (via !== 'db' && via !== 'kafka') throw new Error(`--http-via: expected db and/or kafka, got '${via}'`);
  const httpSeconds = int('http-seconds', values['http-seconds'], httpDefault);
  const http: HttpSettings | null =
    (only === undefined || only === 'http') && !values['no-http']
      ? {
          seconds: httpSeconds,
          connections: [...new Set(connections)].sort((a, b) => a - b),
          vias: [...new Set(vias)] as Via[],
          cliRuns: int('http-cli-runs', values['http-cli-runs'], Math.max(3, httpDefault)),
          cliCount: Math.min(events, 10_000),
          warmupSeconds: Math.min(2, httpSeconds),
          seed: 21,
        }
      : null;
  return {
    cases,
    scale,
    peers: Boolean(values.peers),
    rounds: int('rounds', values.rounds, 3),
    consumeCap: scale === 'events' && consumeCap > 0 ? consumeCap : null,
    naive: int('naive', values.naive, 1000),
    latencyRate: int('latency-rate', values['latency-rate'], 1000),
    latencySeconds: int('latency-seconds', values['latency-seconds'], 10),
    latencyPollMs: int('latency-poll', values['latency-poll'], 50),
    throughput: only === undefined || only === 'throughput',
    latency: only === undefined || only === 'latency',
    http,
    customers: int('customers', values.customers, 1000),
    baseline: values.baseline ?? null,
    save: !values['no-save'],
  };
}

const runStarted = performance.now();
const log = (text: string): void => console.error(`bench: +${Math.round((performance.now() - runStarted) / 1000)}s ${text}`);

/** One round of the produce comparison: the ceiling's best and each build's `buy`, events/s. */
interface Round {
  ceiling: number;
  buy: number;
  before: number | null;
}

interface SizeResult {
  events: number;
  catalog: number;
  rounds: Round[];
  buy: BuyMeasurement;
  consume: ConsumeMeasurement;
  produceCeiling: ProduceCeiling;
  writeCeiling: WriteCeiling;
  naiveProduce: Throughput;
  naiveProject: Throughput;
  /** The same measurements of the --baseline build. */
  before: { commit: string; buy: BuyMeasurement; consume: ConsumeMeasurement } | null;
  /** MongoDB's Kafka sink connector on the same topic (--peers). */
  peers: PeerMeasurement[];
}

interface Baseline {
  commit: string;
  cli: Cli;
}

interface Services {
  workspace: Workspace;
  cli: Cli;
  baseline: Baseline | null;
  kafka: Kafka;
  admin: Admin;
  mongo: MongoClient;
  server: ServerTraits;
  /** Kafka Connect's and the connector's jars (--peers). */
  connectJars: string[] | null;
}

async function measureSize(services: Services, options: Options, { events, catalog }: Case): Promise<SizeResult> {
  const { workspace, cli, baseline, kafka, admin, mongo, server } = services;
  const label = options.scale === 'catalog' ? `n${events}_c${catalog}` : `n${events}`;
  const world = await workspace.world(label, events);
  const { config } = world;
  log(`${label}: preparing ${options.customers} customers and ${catalog} products (make --via db)`);
  await prepareWorld(cli, world, { customers: options.customers, products: catalog });
  const worldDb = mongo.db(config.mongodb.db);
  const products = await loadCatalog(worldDb, config.mongodb.db);
  const pool = purchasePool(products, config.inventory.defaultStore, events, 11);
  const messages = encodePool(pool);
  const naiveCount = Math.min(events, options.naive);

  const ceilingTopic = workspace.topic(`${label}-ceiling`);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: ceilingTopic, numPartitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor }],
  });
  // The baseline build (--baseline) works in a world of its own, prepared by itself.
  const beforeWorld = baseline ? await workspace.world(`${label}_before`, events) : null;
  if (baseline && beforeWorld) {
    log(`${label}: preparing the same for the baseline build (${baseline.commit})`);
    await prepareWorld(baseline.cli, beforeWorld, { customers: options.customers, products: catalog });
  }

  // Rounds (3 by default), each the ceiling then shopctl (then the baseline): the best of each,
  // and the median of the per-round ratios (one sample against the best of several would favour
  // the ceiling on a noisy machine). All but the last round's purchases go to topics of their
  // own, so that `consume` below reads exactly one round.
  const spare = await workspace.world(`${label}_spare`, events, { db: config.mongodb.db });
  const beforeSpare = beforeWorld ? await workspace.world(`${label}_before_spare`, events, { db: beforeWorld.config.mongodb.db }) : null;
  let produce: ProduceCeiling | null = null;
  const buyRuns: BuyMeasurement[] = [];
  const beforeRuns: BuyMeasurement[] = [];
  const rounds: Round[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    const last = round === options.rounds - 1;
    const of = `round ${round + 1}/${options.rounds}`;
    log(`${label}: ${of}: raw kafkajs produce, ${events} messages`);
    const ceiling = await produceCeiling(kafka, ceilingTopic, messages, events);
    produce = produce === null ? ceiling : { ...(ceiling.perSecond > produce.perSecond ? ceiling : produce), variants: [...produce.variants, ...ceiling.variants] };
    log(`${label}: ${of}: shopctl buy --random --via kafka, ${events} purchases`);
    const bought = await measureBuy(cli, last ? world : spare, events, 3 + round);
    buyRuns.push(bought);
    let beforeRate: number | null = null;
    if (baseline && beforeWorld && beforeSpare) {
      log(`${label}: ${of}: the same with the baseline build (${baseline.commit})`);
      const before = await measureBuy(baseline.cli, last ? beforeWorld : beforeSpare, events, 3 + round);
      beforeRuns.push(before);
      beforeRate = before.perSecond;
    }
    rounds.push({ ceiling: ceiling.perSecond, buy: bought.perSecond, before: beforeRate });
  }
  if (produce === null) throw new Error('bench: no produce ceiling measured');
  const buy = bestOf(buyRuns);
  log(`${label}: naive produce, ${naiveCount} messages one by one`);
  const naiveSend = await naiveProduce(kafka, ceilingTopic, messages, naiveCount);

  const cap = options.consumeCap;
  log(`${label}: shopctl consume (fresh group, until idle)${cap !== null && cap < events ? `, capped at ${cap}` : ''}`);
  const consume = await measureConsume(cli, world, admin, {
    group: workspace.group(`${label}-consume`),
    expected: events,
    cap,
    idleSeconds: 2,
  });
  let before: SizeResult['before'] = null;
  if (baseline && beforeWorld) {
    log(`${label}: consume with the baseline build (${baseline.commit})`);
    const beforeConsume = await measureConsume(baseline.cli, beforeWorld, admin, {
      group: workspace.group(`${label}-before-consume`),
      expected: events,
      cap,
      idleSeconds: 2,
    });
    before = { commit: baseline.commit, buy: bestOf(beforeRuns), consume: beforeConsume };
  }

  // The peer reads the very topic consume just read (the purchases of buy's last round).
  const peers: PeerMeasurement[] = [];
  if (services.connectJars) {
    for (const model of Object.keys(WRITE_MODELS) as WriteModel[]) {
      log(`${label}: mongo-kafka-connect sink, ${WRITE_MODELS[model].label}, ${events} purchases`);
      const peerDb = mongo.db(workspace.database(`${label}_peer_${model}`));
      const peer = await measurePeer({
        jars: services.connectJars,
        workDir: workspace.dir,
        brokers: config.kafka.brokers,
        mongoUri: config.mongodb.uri,
        db: peerDb,
        collection: 'purchases',
        admin,
        topic: config.kafka.topics.inventory,
        connector: workspace.connector(`${label}-peer-${model}`),
        expected: events,
        model,
        timeoutMs: 600_000,
      });
      if (peer.written !== events) log(`${label}: warning: the connector wrote ${peer.written} documents for ${events} purchases`);
      peers.push(peer);
    }
  }

  const ceilingDb = mongo.db(workspace.database(`${label}_ceiling`));
  // As many events as consume projected, into an empty database as consume's was: FerretDB
  // slows down as collections grow, so only equal counts make a fair ratio.
  const writeCount = consume.count;
  log(`${label}: raw bulkWrite of the projection's writes, ${writeCount} events`);
  const write = await writeCeiling({ db: ceilingDb, server }, worldDb, pool, writeCount, {
    partitions: config.kafka.partitions,
    topic: ceilingTopic,
  });
  if (write.notApplied > 0 || write.unmatched > 0) {
    log(`${label}: warning: the write ceiling is not faithful (${write.notApplied} events not applied, ${write.unmatched} replaces unmatched)`);
  }
  log(`${label}: the write ceiling's time: ${timingSummary(write)}`);
  log(`${label}: naive projection, ${naiveCount} updateOne round-trips`);
  const naiveWrite = await naiveProject(ceilingDb, pool, naiveCount);
  return { events, catalog, rounds, buy, consume, produceCeiling: produce, writeCeiling: write, naiveProduce: naiveSend, naiveProject: naiveWrite, before, peers };
}

function bestOf(runs: readonly BuyMeasurement[]): BuyMeasurement {
  const best = runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  return { ...best, runs: runs.map((run) => run.perSecond) };
}

function timingSummary(write: WriteCeiling): string {
  return Object.entries(write.timings)
    .sort(([, a], [, b]) => b.ms - a.ms)
    .map(([kind, t]) => `${kind} ${Math.round((100 * t.ms) / write.ms)}% (${t.docs.toLocaleString('en-US')} docs, ${Math.round((t.docs * 1000) / t.ms).toLocaleString('en-US')}/s)`)
    .join(', ');
}

function sizeRows(result: SizeResult): Row[] {
  const rows = throughputRows(result, result.buy, result.consume, '', (round) => round.buy);
  if (result.before) {
    const before = result.before;
    rows.push(...throughputRows(result, before.buy, before.consume, `, before (${before.commit})`, (round) => round.before));
  }
  return rows;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? null) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

// The median round: its buy next to its own ceiling (the ratio is the median of the rounds' ratios).
function medianRound(rounds: readonly Round[], pick: (round: Round) => number | null): { buy: number; ceiling: number; ratios: number[] } | null {
  const pairs = rounds.flatMap((round) => {
    const buy = pick(round);
    return buy === null || round.ceiling <= 0 ? [] : [{ buy, ceiling: round.ceiling, ratio: buy / round.ceiling }];
  });
  const middle = median(pairs.map((pair) => pair.ratio));
  const chosen = pairs.find((pair) => pair.ratio === middle) ?? null;
  const ratios = pairs.map((pair) => Math.round(pair.ratio * 100) / 100);
  if (chosen) return { buy: chosen.buy, ceiling: chosen.ceiling, ratios };
  // An even number of rounds: the mean of the middle two, as a rate against the mean ceiling.
  const sorted = [...pairs].sort((a, b) => a.ratio - b.ratio);
  const mid = sorted.slice(sorted.length / 2 - 1, sorted.length / 2 + 1);
  if (mid.length < 2) return null;
  const ceiling = (mid[0]!.ceiling + mid[1]!.ceiling) / 2;
  return { buy: Math.round((middle ?? 0) * ceiling), ceiling: Math.round(ceiling), ratios };
}

function throughputRows(result: SizeResult, buy: BuyMeasurement, consume: ConsumeMeasurement, suffix: string, pick: (round: Round) => number | null): Row[] {
  const capped = consume.capped ? `projected ${consume.count.toLocaleString('en-US')} of ${result.events.toLocaleString('en-US')} (capped)` : undefined;
  const middle = medianRound(result.rounds, pick);
  return [
    row(`buy --random --via kafka, best of ${result.rounds.length}${suffix}`, 'events/s', {
      shopctl: buy.perSecond,
      ceiling: result.produceCeiling.perSecond,
      naive: result.naiveProduce.perSecond,
    }),
    ...(middle && result.rounds.length > 1
      ? [
          row(`buy --random --via kafka, median round${suffix}`, 'events/s', {
            shopctl: middle.buy,
            ceiling: middle.ceiling,
            naive: result.naiveProduce.perSecond,
            note: `per round: ${middle.ratios.map((ratio) => `${Math.round(ratio * 100)}%`).join(', ')} of that round's ceiling`,
          }),
        ]
      : []),
    row(`consume, whole command minus idle wait${suffix}`, 'events/s', {
      shopctl: consume.perSecond,
      ceiling: result.writeCeiling.perSecond,
      naive: result.naiveProject.perSecond,
      ...(capped ? { note: capped } : {}),
    }),
    row(`consume, steady (first to last commit)${suffix}`, 'events/s', {
      shopctl: consume.steady?.perSecond ?? null,
      ceiling: result.writeCeiling.perSecond,
      naive: result.naiveProject.perSecond,
    }),
    row(`peak RSS of buy${suffix}`, 'MB', { shopctl: megabytes(buy.peakRss) }),
    row(`peak RSS of consume${suffix}`, 'MB', { shopctl: megabytes(consume.peakRss) }),
  ];
}

function latencyRows(latency: LatencyMeasurement | null): Row[] {
  if (!latency) return [];
  const at = `at ${latency.rate}/s`;
  return [
    row(`produce to visible p50 ${at}`, 'ms', { shopctl: latency.p50Ms }),
    row(`produce to visible p99 ${at}`, 'ms', { shopctl: latency.p99Ms }),
  ];
}

function scaleLines(results: readonly SizeResult[]): ScaleLine[] {
  const line = (figure: string, unit: ScaleLine['unit'], pick: (result: SizeResult) => number | null): ScaleLine => ({
    figure,
    unit,
    values: results.map(pick),
  });
  return [
    line('buy --random --via kafka', 'events/s', (r) => r.buy.perSecond),
    line('  raw produce ceiling', 'events/s', (r) => r.produceCeiling.perSecond),
    line('consume, minus idle wait', 'events/s', (r) => r.consume.perSecond),
    line('consume, steady', 'events/s', (r) => r.consume.steady?.perSecond ?? null),
    line('  events projected', 'events', (r) => r.consume.count),
    line('  raw bulkWrite ceiling', 'events/s', (r) => r.writeCeiling.perSecond),
    line('peak RSS of buy', 'MB', (r) => megabytes(r.buy.peakRss)),
    line('peak RSS of consume', 'MB', (r) => megabytes(r.consume.peakRss)),
    ...(results.some((r) => r.peers.length > 0)
      ? Object.keys(WRITE_MODELS).map((model) =>
          line(`  mongo-kafka-connect, ${model === 'insert' ? 'insert-only' : 'default (replace)'}`, 'events/s', (r) => r.peers.find((peer) => peer.model === model)?.perSecond ?? null),
        )
      : []),
  ];
}

// shopctl's steady rate next to the connector's, both from the first to the last offset commit
// of the same topic (whole-run rates in the results file).
function peerLines(result: SizeResult): PeerLine[] {
  return result.peers.map((peer) => ({
    figure: `mongo-kafka-connect 2.0.1, ${WRITE_MODELS[peer.model].label}`,
    consume: result.consume.steady?.perSecond ?? result.consume.perSecond,
    peer: peer.perSecond,
    target: peer.model === 'insert' ? 1 : 10,
  }));
}

/** RSS of `--version`: the median of three runs. */
async function rssFloorOf(cli: Cli): Promise<number | null> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const { peakRss } = await cli.run(['--version']);
    if (peakRss !== null) runs.push(peakRss);
  }
  return median(runs);
}

async function reachable(config: Config): Promise<boolean> {
  const admin = createKafka(config, '-bench-probe').admin();
  const mongo = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 2000 });
  try {
    await admin.connect();
    await mongo.connect();
    await mongo.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
    await mongo.close().catch(() => undefined);
  }
}

/** Brings the local stack up when it does not answer (stack:up leaves running services alone). */
async function ensureStack(config: Config): Promise<void> {
  if (await reachable(config)) return;
  log('the stack does not answer: npm run stack:up');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('npm', ['run', 'stack:up'], { cwd: repoRoot, stdio: ['ignore', process.stderr, process.stderr] });
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0 || !(await reachable(config))) throw new Error('the local stack could not be started (npm run stack:up)');
}

async function kafkaVersion(admin: Admin): Promise<string | null> {
  try {
    const cluster = await admin.describeCluster();
    const broker = cluster.brokers[0];
    if (!broker) return null;
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 4 /* BROKER */, name: String(broker.nodeId), configNames: ['inter.broker.protocol.version'] }],
    });
    return resources[0]?.configEntries[0]?.configValue ?? null;
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) {
    console.log(usage);
    return 0;
  }
  const date = new Date();
  const { config: base } = await loadConfig({ cwd: repoRoot });
  await ensureStack(base);
  const rev = await revision(repoRoot);
  const machine = machineFacts();
  const workspace = await Workspace.create(base);
  const kafka = createKafka(base, '-bench');
  const admin = kafka.admin();
  const mongo = new MongoClient(base.mongodb.uri, { serverSelectionTimeoutMS: base.mongodb.serverSelectionTimeoutMs });
  let cli: Cli | null = null;
  const extraClis: Cli[] = [];
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      // Children leave their consumer groups first, so that the groups can be deleted.
      await Promise.all([cli, ...extraClis].flatMap((each) => (each ? [each.stopAll('SIGTERM')] : [])));
      const problems = await workspace.cleanup(admin, mongo);
      for (const problem of problems) log(`cleanup: ${problem}`);
      await admin.disconnect().catch(() => undefined);
      await mongo.close().catch(() => undefined);
    })());
  const interrupted = () => {
    log('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    await admin.connect();
    await mongo.connect();
    const server = await serverTraits(mongo.db('admin'));
    log(`run ${workspace.id}: ${machine.cores} cores, load ${machine.loadAverage}, ${server.kind} ${server.version}; building the CLI`);
    cli = await Cli.build(repoRoot, workspace.dir);
    if (cli.warning) log(`warning: ${cli.warning}`);
    let baseline: Baseline | null = null;
    if (options.baseline) {
      const commit = await resolveCommit(repoRoot, options.baseline);
      log(`building the baseline ${options.baseline} (${commit})`);
      const baselineCli = await Cli.build(repoRoot, workspace.dir, commit);
      if (baselineCli.warning) log(`warning (baseline): ${baselineCli.warning}`);
      baseline = { commit, cli: baselineCli };
      // Its children are stopped on interruption along with the others.
      extraClis.push(baselineCli);
    }
    const rssFloor = await rssFloorOf(cli);
    const rssFloorBefore = baseline ? await rssFloorOf(baseline.cli) : null;
    const jars = options.peers && options.throughput ? await connectJars(repoRoot, log) : null;
    const services: Services = { workspace, cli, baseline, kafka, admin, mongo, server, connectJars: jars };

    const results: SizeResult[] = [];
    if (options.throughput) {
      for (const each of options.cases) results.push(await measureSize(services, options, each));
    }

    let latency: LatencyMeasurement | null = null;
    if (options.latency) {
      log(`latency: consume running, buy --random --rate ${options.latencyRate} for ${options.latencySeconds}s`);
      const latencyWorld = await workspace.world('latency', options.latencyRate * options.latencySeconds);
      // The catalogue of the (first) throughput case.
      await prepareWorld(cli, latencyWorld, { customers: options.customers, products: options.cases[0]?.catalog ?? 100 });
      latency = await measureLatency(cli, latencyWorld, admin, mongo.db(latencyWorld.config.mongodb.db), {
        rate: options.latencyRate,
        seconds: options.latencySeconds,
        group: workspace.group('latency-consume'),
        pollMs: options.latencyPollMs,
      });
      log(`latency: saw ${latency.observed} of ${latency.events} purchases become visible; a round of probes every ${latency.pollEveryMs} ms took ${latency.roundTookMs} ms (${latency.lookupsPerRound} lookups by _id)`);
    }

    let http: HttpMeasurement | null = null;
    if (options.http) {
      const settings = options.http;
      const catalog = options.cases[0]?.catalog ?? 100;
      // Stock for far more purchases than a run makes (make products receives 10x this per product).
      const httpWorld = await workspace.world('http', 1_000_000);
      log(`http: preparing ${options.customers} customers and ${catalog} products (make --via db)`);
      await prepareWorld(cli, httpWorld, { customers: options.customers, products: catalog });
      const httpCatalog = await loadCatalog(mongo.db(httpWorld.config.mongodb.db), httpWorld.config.mongodb.db);
      if (!('initialStock' in httpWorld.config.inventory) || httpWorld.config.inventory.initialStock === 0) {
        throw new Error('the HTTP part needs inventory.initialStock: products with stock to buy');
      }
      http = await measureHttp(cli, httpWorld, mongo.db(httpWorld.config.mongodb.db), httpCatalog, settings, log);
      for (const each of http.groupCommit) {
        log(`http: group commit, POST /purchases --via ${each.via}: ${each.perSecond}/s at ${each.connections} connections, ${each.atOne}/s at 1: ${each.ratio}x`);
      }
    }

    // One table per size; the latency (measured once, independent of size) goes with the last.
    const tables = (results.length > 0 || latency ? (results.length > 0 ? results : [null]) : []).map((result, index, all) => ({
      events: result?.events ?? null,
      catalog: result?.catalog ?? null,
      rows: [
        ...(result ? sizeRows(result) : []),
        ...(index === all.length - 1 ? latencyRows(latency) : []),
        row('RSS of `shopctl --version` (floor)', 'MB', { shopctl: megabytes(rssFloor) }),
        ...(baseline ? [row(`RSS of \`shopctl --version\` (floor), before (${baseline.commit})`, 'MB', { shopctl: megabytes(rssFloorBefore) })] : []),
      ],
    }));
    console.log('');
    const where = `commit ${rev.commit}${rev.dirty ? ' (+ uncommitted changes)' : ''}, ${machine.cores} cores, ${server.kind} ${server.version}`;
    for (const table of tables) {
      const size = table.events === null ? 'latency only' : `${table.events.toLocaleString('en-US')} events, ${(table.catalog ?? 0).toLocaleString('en-US')} products`;
      console.log(renderTable(table.rows, `shopctl benchmark: ${size}, ${where}`));
    }
    for (const result of results) {
      if (result.peers.length > 0) {
        const title = `A peer on the same topic (${result.events.toLocaleString('en-US')} purchases) into the same server; rates from the first to the last offset commit`;
        console.log(`\n${renderPeerTable(title, peerLines(result))}`);
      }
    }
    if (options.scale && results.length > 1) {
      const columns = results.map((r) => (options.scale === 'catalog' ? `${r.catalog.toLocaleString('en-US')} products` : `${r.events.toLocaleString('en-US')} events`));
      const title =
        options.scale === 'catalog'
          ? `Scale: the same ${results[0]?.events.toLocaleString('en-US')} purchases with growing catalogues`
          : 'Scale: how throughput and memory change with size';
      console.log(`\n${renderScaleTable(title, columns, scaleLines(results), options.scale === 'catalog' ? 'max/min' : 'last/previous')}`);
    }
    const httpTable = http ? httpRows(http) : null;
    if (http && httpTable) {
      const title = `HTTP: shopctl serve on 127.0.0.1 under autocannon (in the bench's process), ${http.settings.seconds} s per figure, ${http.products.toLocaleString('en-US')} products, ${http.customers.toLocaleString('en-US')} customers; ${where}`;
      console.log(`${tables.length > 0 ? '\n' : ''}${renderHttpTable(title, httpTable)}`);
    }

    if (options.save) {
      const file = await saveResult(repoRoot, date, rev.commit, {
        schema: 1,
        date: date.toISOString(),
        commit: rev.commit,
        dirty: rev.dirty,
        machine,
        servers: {
          kafka: { brokers: base.kafka.brokers, version: await kafkaVersion(admin), partitions: base.kafka.partitions },
          mongodb: server,
        },
        options,
        tables,
        sizes: results,
        latency,
        http: http && httpTable ? { ...http, rows: httpTable } : null,
        rssFloorBytes: rssFloor,
        baseline: baseline ? { ref: options.baseline, commit: baseline.commit, rssFloorBytes: rssFloorBefore } : null,
      });
      log(`saved ${path.relative(repoRoot, file)}`);
    }
    if (http && http.problems.length > 0) {
      throw new Error(`the HTTP part went wrong under load:\n${http.problems.map((problem) => `  ${problem}`).join('\n')}`);
    }
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
