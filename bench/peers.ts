import { execFile, spawn } from 'node:child_process';
import { access, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import type { Db } from 'mongodb';
import { pollCommitted } from './shopctl.js';
import { throughput, type Throughput } from './workload.js';

// A real peer: MongoDB's own Kafka sink connector (org.mongodb.kafka:mongo-kafka-connect 2.0.1),
// run by Kafka Connect standalone with the broker's Kafka version, sinking the same purchase
// topic into the same server. Jars come from Maven Central (bench/peers/connect-pom.xml, fetched
// once into the stack's cache directory); none is committed.

const run = promisify(execFile);

const KAFKA_VERSION = '3.9.1';
const CONNECTOR_VERSION = '2.0.1';
const CONNECT_MAIN = 'org.apache.kafka.connect.cli.ConnectStandalone';
/** How often Connect commits the sink's offsets: the resolution of the steady rate, as the bench's 200 ms poll is shopctl's. */
const FLUSH_MS = 200;

export type WriteModel = 'replace' | 'insert';

export const WRITE_MODELS: Record<WriteModel, { label: string; strategy: string | null }> = {
  // The connector's default: ReplaceOneDefaultStrategy (replace by _id, upsert), with its default
  // id strategy (a new ObjectId per record).
  replace: { label: 'default write model (replace by _id, upsert)', strategy: null },
  insert: { label: 'insert-only (InsertOneDefaultStrategy)', strategy: 'com.mongodb.kafka.connect.sink.writemodel.strategy.InsertOneDefaultStrategy' },
};

export interface PeerMeasurement extends Throughput {
  model: WriteModel;
  /** Documents in the target collection at the end (must equal the events). */
  written: number;
  /** From the connector's process start to the last offset committed (JVM start-up included). */
  wallMs: number;
  /** Rate from the first to the last offset commit, as shopctl's `consume, steady`. */
  steady: Throughput | null;
  tasks: number;
}

const cacheDir = (): string => path.join(process.env.SHOPCTL_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'shopctl'), `connect-${KAFKA_VERSION}`);

/** The Connect runtime's and the connector's jars, fetched with maven into the cache on first use. */
export async function connectJars(repoRoot: string, log: (text: string) => void): Promise<string[]> {
  const dir = cacheDir();
  const marker = path.join(dir, `mongo-kafka-connect-${CONNECTOR_VERSION}.jar`);
  if (!(await access(marker).then(() => true, () => false))) {
    log(`fetching Kafka Connect ${KAFKA_VERSION} and mongo-kafka-connect ${CONNECTOR_VERSION} from Maven Central into ${dir}`);
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      await run('mvn', ['-q', '-B', '-f', path.join(repoRoot, 'bench', 'peers', 'connect-pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'], {
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const output = (error as { stdout?: string }).stdout ?? '';
      throw new Error(`--peers: maven could not fetch the connector's jars (is mvn installed?):\n${output.split('\n').slice(-20).join('\n')}`);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }
  // The broker's own jars first (scripts/stack: kafka-<version>), then Connect's and the connector's.
  const brokerDir = path.join(path.dirname(dir), `kafka-${KAFKA_VERSION}`);
  const jarsOf = async (folder: string): Promise<string[]> => {
    const names = await readdir(folder).catch(() => [] as string[]);
    const libs = names.includes('libs') ? await readdir(path.join(folder, 'libs')).then((inner) => inner.map((name) => path.join('libs', name))) : [];
    return [...names, ...libs].filter((name) => name.endsWith('.jar')).map((name) => path.join(folder, name));
  };
  return [...(await jarsOf(brokerDir)), ...(await jarsOf(dir))];
}

/**
 * Runs the sink connector on `topic` (already filled with `expected` purchases) until it has
 * committed them all, then stops it. Keys as strings, values as schemaless JSON.
 */
export async function measurePeer(options: {
  jars: string[];
  workDir: string;
  brokers: string[];
  mongoUri: string;
  db: Db;
  collection: string;
  admin: Admin;
  topic: string;
  /** The connector's name and its consumer group. */
  connector: { name: string; group: string };
  expected: number;
  model: WriteModel;
  timeoutMs: number;
}): Promise<PeerMeasurement> {
  const { name, group } = options.connector;
  const dir = path.join(options.workDir, `connect-${name}`);
  await mkdir(dir, { recursive: true });
  const worker = {
    'bootstrap.servers': options.brokers.join(','),
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'false',
    'offset.storage.file.filename': path.join(dir, 'offsets'),
    'offset.flush.interval.ms': String(FLUSH_MS),
    listeners: 'http://127.0.0.1:0',
    'plugin.discovery': 'only_scan',
  };
  const strategy = WRITE_MODELS[options.model].strategy;
  const connector = {
    name,
    'connector.class': 'com.mongodb.kafka.connect.MongoSinkConnector',
    'tasks.max': '1',
    topics: options.topic,
    'connection.uri': options.mongoUri,
    database: options.db.databaseName,
    collection: options.collection,
    ...(strategy ? { 'writemodel.strategy': strategy } : {}),
  };
  const props = (values: Record<string, string>) => `${Object.entries(values).map(([key, value]) => `${key}=${value}`).join('\n')}\n`;
  const log4j = `log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\nlog4j.appender.file.File=${path.join(dir, 'connect.log')}\nlog4j.appender.file.layout=org.apache.log4j.PatternLayout\nlog4j.appender.file.layout.ConversionPattern=%d %p %c{1} %m%n\n`;
  await writeFile(path.join(dir, 'worker.properties'), props(worker));
  await writeFile(path.join(dir, 'sink.properties'), props(connector));
  await writeFile(path.join(dir, 'log4j.properties'), log4j);

  const started = performance.now();
  const child = spawn(
    'java',
    ['-Xms256m', '-Xmx512m', `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`, '-cp', options.jars.join(':'), CONNECT_MAIN, path.join(dir, 'worker.properties'), path.join(dir, 'sink.properties')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const poller = pollCommitted(options.admin, group, options.topic, options.expected);
  // Pending timers would keep the bench alive after its last step: cancel them.
  const timers = new AbortController();
  const timeout = (ms: number) => sleep(ms, undefined, { signal: timers.signal }).catch(() => undefined);
  try {
    const finished = await Promise.race([
      poller.reached.then(() => 'done' as const),
      exited.then(() => 'exited' as const),
      timeout(options.timeoutMs).then(() => 'timeout' as const),
    ]);
    if (finished !== 'done') {
      poller.stop();
      const why = finished === 'exited' ? `Kafka Connect exited:\n${stderr.trim()}` : `it did not commit ${options.expected} records within ${options.timeoutMs / 1000}s`;
      throw new Error(`--peers (${options.model}): ${why} (log: ${path.join(dir, 'connect.log')})`);
    }
    const wallMs = performance.now() - started;
    poller.stop();
    const steady = await poller.steady();
    const written = await options.db.collection(options.collection).countDocuments();
    return { model: options.model, ...(steady ?? throughput(options.expected, wallMs)), written, wallMs: Math.round(wallMs), steady, tasks: 1 };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), timeout(15_000).then(() => false)]);
    if (!stopped) child.kill('SIGKILL');
    timers.abort();
  }
}
