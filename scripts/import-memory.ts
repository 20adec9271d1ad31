// Peak memory of `shopctl import` on large generated files: proof that the import streams.
//
//   npx tsx scripts/import-memory.ts                       # 1,000,000 rows --via kafka
//   npx tsx scripts/import-memory.ts --rows 100000,1000000 --via dry-run
//   npx tsx scripts/import-memory.ts --rows 200000 --via db
//   npx tsx scripts/import-memory.ts --heap 64             # V8 old space capped at 64 MiB
//
// For each size it writes a CSV into a temp directory (never committed), runs the real CLI
// (node --import tsx src/cli.ts import …) against its own database and topics on the local
// stack, samples the child's /proc/PID/status (VmRSS, and VmHWM: the kernel's peak RSS) every
// 100 ms, prints the peak, then removes the file, the database and the topics it created.
// Linux only (/proc). Without --heap, V8 lets garbage pile up before a full collection (its limit
// here is far above what the import needs), so RSS rises for a while; --heap caps the old space
// to show how little the import really needs: it would die of 'heap out of memory' if it kept rows.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { stringify } from 'yaml';
import { deepMerge } from '../src/config/load.js';
import { defaultConfig, type Config } from '../src/config/schema.js';
import { IMPORT_HEADER } from '../src/domain/csv.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    via: { type: 'string', default: 'kafka' },
    keys: { type: 'string', default: '200' },
    heap: { type: 'string' },
  },
});
const sizes = values.rows.split(',').map((n) => Number(n.replaceAll('_', '')));
const via = values.via;
const keys = Number(values.keys);
const heap = values.heap === undefined ? null : Number(values.heap);
const usable = (n: number) => Number.isInteger(n) && n >= 1;
if (!['kafka', 'db', 'dry-run'].includes(via) || !sizes.every(usable) || !usable(keys) || (heap !== null && !usable(heap))) {
  console.error('usage: npx tsx scripts/import-memory.ts [--rows N[,N…]] [--via kafka|db|dry-run] [--keys K] [--heap MB]');
  process.exit(2);
}

// Rows over `keys` (store, SKU) pairs: each pair first receives plenty, then sales of 1 and more
// incoming; one row in 500 is invalid (bad value, bad date or a duplicate transaction id).
async function writeCsv(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const write = (text: string) => (out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve())));
  await write(`${IMPORT_HEADER.join(',')}\n`);
  let previous = randomUUID();
  let batch = '';
  for (let i = 0; i < rows; i += 1) {
    const key = i % keys;
    const store = `store-${key % 20}`;
    const sku = `SKU-${key}`;
    const first = i < keys; // the goods every later sale draws on: never spoilt
    const id = !first && i % 500 === 499 ? previous : randomUUID();
    previous = id;
    const type = first || i % 10 !== 0 ? 'incoming' : 'sale';
    const quantity = first ? 1_000_000 : i % 997 === 0 ? '0' : String((i % 7) + 1);
    const day = `2026-01-${String((i % 28) + 1).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00Z`;
    const date = !first && i % 991 === 0 ? '2026-02-30' : day;
    batch += `${id},${type},${date},${store},${sku},${quantity}\n`;
    if (batch.length > 1 << 16) {
      await write(batch);
      batch = '';
    }
  }
  await write(batch);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

function testConfig(): Config {
  const id = randomBytes(4).toString('hex');
  const topics = Object.fromEntries(Object.entries(defaultConfig.kafka.topics).map(([key, name]) => [key, `mem${id}.${name}`]));
  return deepMerge(defaultConfig as unknown as Record<string, unknown>, {
    kafka: { topics, groupId: `mem${id}` },
    mongodb: { db: `import_memory_${id}` },
  }) as unknown as Config;
}

interface Sample {
  ms: number;
  rssKb: number;
}

function procStatus(pid: number): Promise<{ rssKb: number; hwmKb: number } | null> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (text) => {
      const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
      return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
    },
    () => null,
  );
}

async function measure(rows: number): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shopctl-import-memory-'));
  const config = testConfig();
  const file = path.join(dir, `stock-${rows}.csv`);
  const configFile = path.join(dir, 'shopctl.yaml');
  try {
    await writeFile(configFile, stringify(config));
    const generated = Date.now();
    await writeCsv(file, rows);
    const bytes = (await stat(file)).size;
    const capped = heap === null ? '' : ` with the V8 heap capped at ${heap} MiB`;
    console.log(`\n${rows.toLocaleString('en-US')} rows, ${(bytes / 2 ** 20).toFixed(1)} MiB, generated in ${((Date.now() - generated) / 1000).toFixed(1)}s; importing --via ${via}${capped}…`);

    const args = [...(heap === null ? [] : [`--max-old-space-size=${heap}`]), '--import', 'tsx', 'src/cli.ts', '--config', configFile, 'import', file, '--json'];
    args.push(...(via === 'dry-run' ? ['--dry-run'] : ['--via', via]));
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const started = Date.now();
    const samples: Sample[] = [];
    let hwmKb = 0;
    const timer = setInterval(() => {
      if (child.pid === undefined) return;
      void procStatus(child.pid).then((status) => {
        if (!status || status.rssKb === 0) return;
        samples.push({ ms: Date.now() - started, rssKb: status.rssKb });
        hwmKb = Math.max(hwmKb, status.hwmKb);
      });
    }, 100);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearInterval(timer);
    const seconds = (Date.now() - started) / 1000;
    if (code !== 0 && code !== 3) throw new Error(`import exited ${code}: ${stderr}`);
    const summary = JSON.parse(stdout) as { rows: { read: number; accepted: number; rejected: number }; written: number; duplicates: number; refused: number; errorsSent: number };
    const peakRss = Math.max(0, ...samples.map((s) => s.rssKb));
    const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
    // RSS over time, in ten slices: flat means bounded.
    const slices = Array.from({ length: 10 }, (_, i) => {
      const part = samples.filter((s) => s.ms >= (i * seconds * 100) && s.ms < ((i + 1) * seconds * 100));
      return part.length > 0 ? mib(Math.max(...part.map((s) => s.rssKb))) : '-';
    });
    console.log(`  exit ${code} in ${seconds.toFixed(1)}s (${Math.round(summary.rows.read / seconds).toLocaleString('en-US')} rows/s incl. start-up)`);
    console.log(`  rows read ${summary.rows.read}, accepted ${summary.rows.accepted}, rejected ${summary.rows.rejected}, written ${summary.written}, duplicates ${summary.duplicates}, refused ${summary.refused}, errors sent ${summary.errorsSent}`);
    console.log(`  peak RSS ${mib(hwmKb)} (VmHWM), highest sampled VmRSS ${mib(peakRss)}`);
    console.log(`  RSS per tenth of the run: ${slices.join(' ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await cleanUp(config);
  }
}

// Removes exactly what this run created: its database and its topics.
async function cleanUp(config: Config): Promise<void> {
  const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 3000 });
  try {
    await client.connect();
    await client.db(config.mongodb.db).dropDatabase();
  } catch {
    // Nothing was created.
  } finally {
    await client.close();
  }
  const admin = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const mine = new Set(Object.values(config.kafka.topics));
    const existing = (await admin.listTopics()).filter((topic) => mine.has(topic));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing });
  } catch {
    // Nothing was created.
  } finally {
    await admin.disconnect();
  }
}

for (const rows of sizes) await measure(rows);
