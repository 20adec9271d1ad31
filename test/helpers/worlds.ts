import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Config } from '../../src/config/schema.js';
import { runCli } from './cli.js';
import { connectTestMongo, testConfig, testKafka, type TestMongo } from './env.js';

/** One test's own shop: a unique database and topics, a config file, and the CLI pointed at it. */
export interface World {
  config: Config;
  /** The config file (`--config`). */
  file: string;
  /** The directory holding it. */
  dir: string;
  mongo: TestMongo;
  /** `shopctl --config <file> ARGS`, the built binary. */
  cli: (...args: string[]) => ReturnType<typeof runCli>;
}

/**
 * Worlds for one test file: `world()` makes one, `cleanUp()` (for afterAll) drops each one's
 * database, deletes its topics and removes its directory.
 */
export function worlds(prefix: string, options: { timeoutMs?: number } = {}): { world: () => Promise<World>; cleanUp: () => Promise<void> } {
  const made: World[] = [];
  return {
    world: async () => {
      const config = testConfig();
      const dir = await mkdtemp(path.join(tmpdir(), `shopctl-${prefix}-`));
      const file = path.join(dir, 'shopctl.yaml');
      await writeFile(file, stringify(config));
      const mongo = await connectTestMongo(config);
      const each: World = { config, file, dir, mongo, cli: (...args) => runCli(['--config', file, ...args], {}, { timeoutMs: options.timeoutMs ?? 90_000 }) };
      made.push(each);
      return each;
    },
    cleanUp: async () => {
      for (const each of made) {
        await each.mongo.drop();
        const admin = testKafka(each.config).admin();
        await admin.connect();
        try {
          const mine = new Set(Object.values(each.config.kafka.topics));
          const existing = (await admin.listTopics()).filter((topic) => mine.has(topic));
          if (existing.length > 0) await admin.deleteTopics({ topics: existing });
        } catch {
          // Best effort: the topics have unique names and harm nothing if left.
        } finally {
          await admin.disconnect();
        }
        await rm(each.dir, { recursive: true, force: true });
      }
    },
  };
}
