// Waits until the local stack answers: Kafka metadata via a kafkajs admin client and a
// MongoDB `ping` via the mongodb driver. Used by up.sh.
// Usage: node wait.mjs --kafka 127.0.0.1:19092 --kafka-pid N --mongo mongodb://127.0.0.1:27117 --mongo-pid M --timeout 60
// Exit code: 0 = both ready; bit 1 = kafka not ready, bit 2 = mongodb not ready; 8 = usage/internal error.
import console from 'node:console';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const fail = (msg) => {
  console.error(`wait.mjs: ${msg}`);
  process.exit(8);
};

let opt;
try {
  opt = parseArgs({
    options: {
      kafka: { type: 'string' },
      'kafka-pid': { type: 'string' },
      mongo: { type: 'string' },
      'mongo-pid': { type: 'string' },
      timeout: { type: 'string', default: '60' },
    },
  }).values;
} catch (err) {
  fail(err.message);
}
if (!opt.kafka || !opt.mongo) fail('--kafka and --mongo are required');

let Kafka, logLevel, MongoClient;
try {
  ({ Kafka, logLevel } = (await import('kafkajs')).default);
  ({ MongoClient } = await import('mongodb'));
} catch (err) {
  fail(`cannot load kafkajs/mongodb from the repo's node_modules (run npm ci first): ${err.message}`);
}

const withTimeout = (promise, ms) =>
  Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`no answer within ${ms} ms`)))]);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};

async function kafkaReady() {
  const kafka = new Kafka({
    clientId: 'shopctl-stack-wait',
    brokers: [opt.kafka],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function mongoReady() {
  const client = new MongoClient(opt.mongo, {
    serverSelectionTimeoutMS: 1000,
    connectTimeoutMS: 1000,
    directConnection: true,
  });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    return res.ok === 1;
  } finally {
    await client.close().catch(() => {});
  }
}

const services = [
  { name: 'kafka', bit: 1, probe: kafkaReady, pid: Number(opt['kafka-pid']) || 0 },
  { name: 'mongodb', bit: 2, probe: mongoReady, pid: Number(opt['mongo-pid']) || 0 },
];
const started = Date.now();
const deadline = started + Number(opt.timeout) * 1000;
let pending = services;

while (pending.length > 0 && Date.now() < deadline) {
  await Promise.all(
    pending.map(async (s) => {
      if (s.pid && !alive(s.pid)) {
        s.dead = true;
        return;
      }
      try {
        s.ready = await withTimeout(s.probe(), 5000);
        if (s.ready) console.log(`${s.name}: ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (err) {
        s.lastError = err?.message ?? String(err);
      }
    }),
  );
  pending = pending.filter((s) => !s.ready);
  if (pending.some((s) => s.dead)) break;
  if (pending.length > 0) await sleep(250);
}

let code = 0;
for (const s of pending) {
  code |= s.bit;
  if (s.dead) console.error(`${s.name}: process ${s.pid} exited during start`);
  else console.error(`${s.name}: not ready after ${opt.timeout} s (last error: ${s.lastError ?? 'none'})`);
}
process.exit(code);
