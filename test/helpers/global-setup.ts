import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { defaultConfig } from '../../src/config/schema.js';

// Integration tests run against the local stack (npm run stack:up). If it is not there, fail
// the whole run at once with the reason, instead of every test timing out on its own.
export default async function setup(): Promise<void> {
  await buildWhenStale();
  const brokers = process.env.SHOPCTL_KAFKA_BROKERS?.split(',') ?? defaultConfig.kafka.brokers;
  const uri = process.env.SHOPCTL_MONGODB_URI ?? defaultConfig.mongodb.uri;
  const problems: string[] = [];
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (error) {
    problems.push(`Kafka at ${brokers.join(',')}: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (error) {
    problems.push(`MongoDB at ${uri}: ${(error as Error).message}`);
  } finally {
    await client.close().catch(() => undefined);
  }
  if (problems.length > 0) {
    throw new Error(`The local stack is not running (start it with \`npm run stack:up\`):\n  ${problems.join('\n  ')}`);
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The newest modification time of the files under `dir` (0 when there are none). */
async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    latest = Math.max(latest, (await stat(path.join(entry.parentPath, entry.name))).mtimeMs);
  }
  return latest;
}

// The CLI tests run the built binary (test/helpers/cli.ts: node bin/shopctl.js, which runs
// dist/cli.js). Build it when it is missing or older than a source file (or tsconfig), so a
// test never runs yesterday's code. A failed build fails the run with tsc's messages.
async function buildWhenStale(): Promise<void> {
  // The dashboard (web/, built by Vite into dist/web) is part of the build: the browser test serves it.
  const builtAt = (file: string) =>
    stat(path.join(root, 'dist', file)).then(
      (info) => info.mtimeMs,
      () => 0,
    );
  const built = Math.min(await builtAt('cli.js'), await builtAt(path.join('web', 'index.html')));
  const configs = ['tsconfig.json', 'tsconfig.build.json', 'vite.config.ts', path.join('web', 'tsconfig.json'), path.join('web', 'index.html')];
  const sources = Math.max(
    await newest(path.join(root, 'src')),
    await newest(path.join(root, 'web', 'src')),
    ...(await Promise.all(configs.map(async (name) => (await stat(path.join(root, name))).mtimeMs))),
  );
  if (built > sources) return;
  try {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`The CLI tests run the built binary, and \`npm run build\` failed:\n${stdout}${stderr}`);
  }
}
