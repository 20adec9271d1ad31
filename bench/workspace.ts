import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import { stringify } from 'yaml';
import { defaultConfig } from '../src/config/schema.js';
import { deepMerge } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';

/** One isolated shop: its own database, topics and config file for the CLI children. */
export interface World {
  label: string;
  config: Config;
  /** A YAML file holding the whole effective config, passed to the CLI as --config. */
  configPath: string;
}

// Everything a run creates carries the run id, and cleanup removes exactly what was registered
// here: the bench never drops or deletes anything it did not create.
export class Workspace {
  private readonly databases = new Set<string>();
  private readonly topics = new Set<string>();
  private readonly groups = new Set<string>();

  private constructor(
    readonly id: string,
    readonly dir: string,
    private readonly base: Config,
  ) {}

  static async create(base: Config): Promise<Workspace> {
    const id = randomBytes(3).toString('hex');
    const dir = await mkdtemp(path.join(tmpdir(), `shopctl-bench-${id}-`));
    return new Workspace(id, dir, base);
  }

  /**
   * `purchases`: how many purchases the world must be able to take. Where shopctl keeps stock
   * (a configured `inventory.initialStock` received by `make products`), every product gets
   * enough for all of them, so no purchase is refused for stock. `db`: share another world's
   * database (its customers and products) with topics of its own.
   */
  async world(label: string, purchases: number, options: { db?: string } = {}): Promise<World> {
    const prefix = `bench-${this.id}-${label}`;
    const topics = Object.fromEntries(Object.keys(this.base.kafka.topics).map((key) => [key, `${prefix}.${key}`]));
    const inventory: Record<string, unknown> = {};
    if ('initialStock' in this.base.inventory) inventory.initialStock = Math.min(1_000_000_000, Math.max(1000, purchases * 10));
    const config = deepMerge(this.base as unknown as Record<string, unknown>, {
      kafka: { groupId: `${prefix}-projector`, topics },
      mongodb: { db: options.db ?? this.database(label) },
      inventory,
    }) as unknown as Config;
    for (const topic of Object.values(config.kafka.topics)) this.topics.add(topic);
    const configPath = path.join(this.dir, `${label}.yaml`);
    // Only what differs from the built-in defaults goes in the file: an older build (--baseline)
    // refuses keys it does not know (serve, simulate, …), and at their defaults they say nothing.
    await writeFile(configPath, stringify(differences(config, defaultConfig) ?? {}));
    return { label, config, configPath };
  }

  /** A database name for this run (registered for dropping). */
  database(label: string): string {
    const name = `bench_${this.id}_${label}`;
    this.databases.add(name);
    return name;
  }

  topic(label: string): string {
    const name = `bench-${this.id}-${label}`;
    this.topics.add(name);
    return name;
  }

  group(label: string): string {
    const name = `bench-${this.id}-${label}`;
    this.groups.add(name);
    return name;
  }

  /** A Kafka Connect connector's name, and its consumer group (Connect names it `connect-<name>`). */
  connector(label: string): { name: string; group: string } {
    const name = `bench-${this.id}-${label}`;
    const group = `connect-${name}`;
    this.groups.add(group);
    return { name, group };
  }

  // Best effort, every step on its own: a failed drop must not keep the rest in place.
  async cleanup(admin: Admin | null, mongo: MongoClient | null): Promise<string[]> {
    const problems: string[] = [];
    if (admin) {
      if (this.groups.size > 0) {
        // A group that never committed does not exist, and deleting its topics removes it anyway.
        await admin.deleteGroups([...this.groups]).catch(() => undefined);
      }
      const existing = new Set(await admin.listTopics().catch(() => [] as string[]));
      const topics = [...this.topics].filter((topic) => existing.has(topic));
      if (topics.length > 0) {
        await admin.deleteTopics({ topics, timeout: 30_000 }).catch((error: Error) => problems.push(`delete topics: ${error.message}`));
      }
    }
    if (mongo) {
      for (const name of this.databases) {
        await mongo
          .db(name)
          .dropDatabase()
          .catch((error: Error) => problems.push(`drop ${name}: ${error.message}`));
      }
    }
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    return problems;
  }
}

/** The parts of `value` that differ from `defaults` (objects key by key; anything else whole), or undefined. */
export function differences(value: unknown, defaults: unknown): unknown {
  const plain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (plain(value) && plain(defaults)) {
    const result: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const differs = differences(inner, defaults[key]);
      if (differs !== undefined) result[key] = differs;
    }
    return Object.keys(result).length > 0 ? result : undefined;
  }
  return JSON.stringify(value) === JSON.stringify(defaults) ? undefined : value;
}
