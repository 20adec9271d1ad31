import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../src/config/env.js';
import { loadConfig } from '../../src/config/load.js';
import { redact, redactUri } from '../../src/config/redact.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { flagsToConfig } from '../../src/services/context.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'shopctl-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (name: string, content: string): Promise<string> => {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content, 'utf8');
  return file;
};

/** Loads with an explicit, empty-by-default environment: the developer's SHOPCTL_* never leak in. */
const load = (options: { env?: NodeJS.ProcessEnv; flags?: Record<string, unknown>; configPath?: string } = {}) =>
  loadConfig({ cwd: dir, env: {}, ...options });

/** The ConfigError a promise rejects with (fails the test if it resolves or throws something else). */
async function configErrorOf(promise: Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, 'expected a ConfigError').toBeInstanceOf(ConfigError);
  const configError = error as ConfigError;
  expect(configError.exitCode).toBe(2);
  expect(configError.code).toBe('CONFIG_INVALID');
  return configError;
}

describe('loadConfig: layers', () => {
  it('uses the built-in defaults when there is no file, no variable and no flag', async () => {
    const loaded = await load();
    expect(loaded.config).toEqual(defaultConfig);
    expect(loaded.file).toBeNull();
    expect(loaded.sources['kafka.brokers']).toBe('default');
    expect(loaded.sources['mongodb.uri']).toBe('default');
    expect(loaded.sources['generate.seed']).toBe('default');
  });

  it('applies defaults < file < env < flag and records where each value came from', async () => {
    await write(
      'config.yaml',
      [
        'kafka:',
        '  clientId: from-file',
        '  groupId: group-from-file',
        '  brokers: ["file-host:9092"]',
        'mongodb:',
        '  db: filedb',
        'generate:',
        '  locale: de',
      ].join('\n'),
    );
    const loaded = await load({
      env: { SHOPCTL_MONGODB_DB: 'envdb', SHOPCTL_KAFKA_GROUP_ID: 'group-from-env', SHOPCTL_KAFKA_BROKERS: 'env-host:9092' },
      flags: { kafka: { brokers: ['flag-host:9092'] } },
    });

    expect(loaded.file).toBe('config.yaml');
    const { config, sources } = loaded;
    // default only
    expect(config.kafka.partitions).toBe(defaultConfig.kafka.partitions);
    expect(sources['kafka.partitions']).toBe('default');
    // file beats default
    expect(config.kafka.clientId).toBe('from-file');
    expect(sources['kafka.clientId']).toBe('file config.yaml');
    expect(config.generate.locale).toBe('de');
    expect(sources['generate.locale']).toBe('file config.yaml');
    // env beats file
    expect(config.mongodb.db).toBe('envdb');
    expect(sources['mongodb.db']).toBe('env');
    expect(config.kafka.groupId).toBe('group-from-env');
    expect(sources['kafka.groupId']).toBe('env');
    // flag beats env and file
    expect(config.kafka.brokers).toEqual(['flag-host:9092']);
    expect(sources['kafka.brokers']).toBe('flag');
  });

  it('merges nested objects key by key: one topic from the file keeps the other defaults', async () => {
    await write('config.yaml', 'kafka:\n  topics:\n    customers: my.customers\n');
    const { config, sources } = await load();
    expect(config.kafka.topics.customers).toBe('my.customers');
    expect(sources['kafka.topics.customers']).toBe('file config.yaml');
    expect(config.kafka.topics.catalog).toBe(defaultConfig.kafka.topics.catalog);
    expect(sources['kafka.topics.catalog']).toBe('default');
    expect(config.kafka.brokers).toEqual(defaultConfig.kafka.brokers);
  });

  it('replaces arrays whole instead of merging them', async () => {
    await write('config.yaml', 'kafka:\n  brokers: ["a:1", "b:2"]\n');
    const { config } = await load({ env: { SHOPCTL_KAFKA_BROKERS: 'c:3' } });
    expect(config.kafka.brokers).toEqual(['c:3']);
  });

  it('finds .shopctlrc.json when there is no config.yaml', async () => {
    await write('.shopctlrc.json', JSON.stringify({ mongodb: { db: 'rcdb' } }));
    const loaded = await load();
    expect(loaded.config.mongodb.db).toBe('rcdb');
    expect(loaded.file).toBe('.shopctlrc.json');
    expect(loaded.sources['mongodb.db']).toBe('file .shopctlrc.json');
  });

  it('prefers config.yaml over .shopctlrc.json in the same directory', async () => {
    await write('config.yaml', 'mongodb:\n  db: yamldb\n');
    await write('.shopctlrc.json', JSON.stringify({ mongodb: { db: 'rcdb' } }));
    const loaded = await load();
    expect(loaded.config.mongodb.db).toBe('yamldb');
    expect(loaded.file).toBe('config.yaml');
  });

  it('--config PATH reads exactly that file (relative to cwd) instead of searching', async () => {
    await write('config.yaml', 'mongodb:\n  db: searched\n');
    await write('conf/other.yaml', 'mongodb:\n  db: explicit\n');
    const loaded = await load({ configPath: 'conf/other.yaml' });
    expect(loaded.config.mongodb.db).toBe('explicit');
    expect(loaded.file).toBe(path.join('conf', 'other.yaml'));
    expect(loaded.sources['mongodb.db']).toBe(`file ${path.join('conf', 'other.yaml')}`);
  });

  it('flags with undefined values do not clobber lower layers', async () => {
    const { config, sources } = await load({ env: { SHOPCTL_MONGODB_DB: 'envdb' }, flags: { mongodb: { db: undefined } } });
    expect(config.mongodb.db).toBe('envdb');
    expect(sources['mongodb.db']).toBe('env');
  });

  it('global CLI flags become configuration-shaped values with the highest precedence', async () => {
    const flags = flagsToConfig({ brokers: 'h1:1, h2:2', mongodbUri: 'mongodb://flaghost:1', db: 'flagdb' });
    expect(flags).toEqual({ kafka: { brokers: ['h1:1', 'h2:2'] }, mongodb: { uri: 'mongodb://flaghost:1', db: 'flagdb' } });
    expect(flagsToConfig({})).toEqual({});
    const { config, sources } = await load({ env: { SHOPCTL_MONGODB_DB: 'envdb' }, flags });
    expect(config.mongodb.db).toBe('flagdb');
    expect(sources['mongodb.uri']).toBe('flag');
  });
});

describe('loadConfig: invalid files', () => {
  it('--config to a missing file is a ConfigError naming the path', async () => {
    const error = await configErrorOf(load({ configPath: 'nope/missing.yaml' }));
    expect(error.message).toContain('nope/missing.yaml');
  });

  it('bad YAML syntax names the file', async () => {
    await write('config.yaml', 'kafka: [\n  brokers: {\n');
    const error = await configErrorOf(load());
    expect(error.message).toContain('config.yaml');
    expect(error.message).toMatch(/yaml/i);
  });

  it('bad JSON in .shopctlrc.json names the file', async () => {
    await write('.shopctlrc.json', '{"kafka": {"brokers": ');
    const error = await configErrorOf(load());
    expect(error.message).toContain('.shopctlrc.json');
  });

  it('a wrong type names the file, the key path and what was expected', async () => {
    await write('config.yaml', 'kafka: { brokers: 5 }\n');
    const error = await configErrorOf(load());
    expect(error.message).toContain('config.yaml');
    expect(error.details).toHaveLength(1);
    expect(error.details[0]).toContain('kafka.brokers');
    expect(error.details[0]).toMatch(/expected array/i);
    expect(error.details[0]).toContain('file config.yaml');
  });

  it('an unknown key names the section and the key', async () => {
    await write('config.yaml', 'kafka:\n  brokerz: ["127.0.0.1:19092"]\n');
    const error = await configErrorOf(load());
    expect(error.message).toContain('config.yaml');
    const detail = error.details.find((line) => line.includes('brokerz'));
    expect(detail, error.details.join('\n')).toBeDefined();
    expect(detail).toMatch(/^kafka\.brokerz \(from file config\.yaml\)/);
    expect(detail).toMatch(/unknown key/i);
  });

  it('an unknown top-level key is named', async () => {
    await write('config.yaml', 'kafkaa:\n  brokers: ["127.0.0.1:19092"]\n');
    const error = await configErrorOf(load());
    expect(error.details.join('\n')).toContain('kafkaa');
  });

  it('an invalid broker names the element and says host:port was expected', async () => {
    await write('config.yaml', 'kafka:\n  brokers: ["127.0.0.1:19092", nohostport]\n');
    const error = await configErrorOf(load());
    expect(error.message).toContain('config.yaml');
    expect(error.details).toHaveLength(1);
    expect(error.details[0]).toMatch(/^kafka\.brokers\[1\]/);
    expect(error.details[0]).toContain('host:port');
  });

  it('reports every invalid key, not only the first', async () => {
    await write('config.yaml', 'kafka:\n  partitions: 0\ngenerate:\n  currency: euro\n');
    const error = await configErrorOf(load());
    const text = error.details.join('\n');
    expect(text).toContain('kafka.partitions');
    expect(text).toContain('generate.currency');
    expect(text).toContain('ISO 4217');
  });

  it('a file that is not a mapping at the top level is rejected, naming the file', async () => {
    await write('config.yaml', '- just\n- a list\n');
    const error = await configErrorOf(load());
    expect(error.message).toContain('config.yaml');
    expect(error.message).toMatch(/mapping/);
  });
});

describe('environment variables', () => {
  it('SHOPCTL_KAFKA_BROKERS with commas becomes an array (spaces and empty parts dropped)', async () => {
    expect(configFromEnv({ SHOPCTL_KAFKA_BROKERS: 'a:1, b:2,,c:3 ' })).toEqual({ kafka: { brokers: ['a:1', 'b:2', 'c:3'] } });
    const { config, sources } = await load({ env: { SHOPCTL_KAFKA_BROKERS: '10.0.0.1:9092,10.0.0.2:9092' } });
    expect(config.kafka.brokers).toEqual(['10.0.0.1:9092', '10.0.0.2:9092']);
    expect(sources['kafka.brokers']).toBe('env');
  });

  it('parses integers and booleans, and ignores empty and unrelated variables', () => {
    expect(
      configFromEnv({ SHOPCTL_SEED: '42', SHOPCTL_KAFKA_SSL: 'yes', SHOPCTL_KAFKA_PARTITIONS: ' 6 ', SHOPCTL_LOCALE: '', HOME: '/root', SHOPCTL_NOPE: 'x' }),
    ).toEqual({ generate: { seed: 42 }, kafka: { ssl: true, partitions: 6 } });
    expect(configFromEnv({ SHOPCTL_KAFKA_SSL: 'off' })).toEqual({ kafka: { ssl: false } });
  });

  it('SHOPCTL_SEED=abc is a ConfigError naming the variable and the value', async () => {
    const error = await configErrorOf(load({ env: { SHOPCTL_SEED: 'abc' } }));
    expect(error.message).toContain('SHOPCTL_SEED');
    expect(error.message).toContain('abc');
    expect(error.message).toMatch(/integer/);
  });

  it('SHOPCTL_KAFKA_SSL=maybe is a ConfigError naming the variable', async () => {
    const error = await configErrorOf(load({ env: { SHOPCTL_KAFKA_SSL: 'maybe' } }));
    expect(error.message).toContain('SHOPCTL_KAFKA_SSL');
  });

  it('a well-formed variable with an invalid value names the variable and the key', async () => {
    const error = await configErrorOf(load({ env: { SHOPCTL_KAFKA_BROKERS: 'nohostport' } }));
    expect(error.details).toHaveLength(1);
    expect(error.details[0]).toContain('kafka.brokers[0]');
    expect(error.details[0]).toContain('SHOPCTL_KAFKA_BROKERS');
    expect(error.details[0]).toContain('host:port');
  });

  it('SASL variables build the nested kafka.sasl object', async () => {
    const { config, sources } = await load({
      env: { SHOPCTL_KAFKA_SASL_MECHANISM: 'scram-sha-512', SHOPCTL_KAFKA_SASL_USERNAME: 'app', SHOPCTL_KAFKA_SASL_PASSWORD: 's3cr3t' },
    });
    expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'app', password: 's3cr3t' });
    expect(sources['kafka.sasl.password']).toBe('env');
  });
});

describe('redaction', () => {
  it('redactUri hides the password and keeps user, host and path', () => {
    const redacted = redactUri('mongodb://user:secret@host:27017/db');
    expect(redacted).not.toContain('secret');
    expect(redacted).toBe('mongodb://user:***@host:27017/db');
    expect(redactUri('mongodb+srv://u:p%40ss@cluster0.example.net/shop?retryWrites=true')).toBe(
      'mongodb+srv://u:***@cluster0.example.net/shop?retryWrites=true',
    );
  });

  it('redactUri leaves URIs without a password alone', () => {
    expect(redactUri('mongodb://127.0.0.1:27117')).toBe('mongodb://127.0.0.1:27117');
    expect(redactUri('mongodb://user@host:27017/db')).toBe('mongodb://user@host:27017/db');
  });

  it('redact(config) masks the SASL password and the URI password, without touching the original', () => {
    const config: Config = {
      ...defaultConfig,
      kafka: { ...defaultConfig.kafka, sasl: { mechanism: 'plain', username: 'app', password: 'kafka-pass' } },
      mongodb: { ...defaultConfig.mongodb, uri: 'mongodb://bob:hunter2@db.example:27017/shop' },
    };
    const safe = redact(config);
    expect(JSON.stringify(safe)).not.toContain('kafka-pass');
    expect(JSON.stringify(safe)).not.toContain('hunter2');
    expect(safe.kafka.sasl?.password).toBe('***');
    expect(safe.kafka.sasl?.username).toBe('app');
    expect(safe.mongodb.uri).toBe('mongodb://bob:***@db.example:27017/shop');
    // Everything else is kept as is, and the input is not mutated.
    expect(safe.kafka.brokers).toEqual(defaultConfig.kafka.brokers);
    expect(safe.generate).toEqual(defaultConfig.generate);
    expect(config.kafka.sasl?.password).toBe('kafka-pass');
    expect(config.mongodb.uri).toContain('hunter2');
  });
});

describe('loadConfig: files that say where a problem is', () => {
  it('an unknown top-level section names the file and the key path', async () => {
    await write('config.yaml', 'kafak:\n  brokers: ["127.0.0.1:19092"]\n');
    const error = await configErrorOf(load());
    expect(error.message).toBe('Invalid configuration in config.yaml');
    expect(error.details).toEqual(['kafak (from file config.yaml): unknown key']);
  });

  it('an unknown key deep in a section names the file given with --config and the whole path', async () => {
    const file = await write('conf/shop.yaml', 'kafka:\n  topics:\n    custmers:\n      name: x\n');
    const error = await configErrorOf(load({ configPath: 'conf/shop.yaml' }));
    expect(error.message).toBe(`Invalid configuration in ${path.join('conf', 'shop.yaml')}`);
    expect(error.details).toEqual([`kafka.topics.custmers (from file ${path.join('conf', 'shop.yaml')}): unknown key`]);
    expect(file).toContain('shop.yaml');
  });

  it('an empty file given with --config is used (defaults) and said so, not "no config file found"', async () => {
    await write('empty.yaml', '');
    const loaded = await load({ configPath: 'empty.yaml' });
    expect(loaded.file).toBe('empty.yaml');
    expect(loaded.config).toEqual(defaultConfig);
    expect(loaded.notes).toEqual(['config: empty.yaml is empty; using defaults']);
  });

  it('a found config.yaml with only comments is used too, and env still applies over it', async () => {
    await write('config.yaml', '# nothing set yet\n\n');
    const loaded = await load({ env: { SHOPCTL_MONGODB_DB: 'fromenv' } });
    expect(loaded.file).toBe('config.yaml');
    expect(loaded.notes).toEqual(['config: config.yaml is empty; using defaults']);
    expect(loaded.config.mongodb.db).toBe('fromenv');
  });

  it('a file with settings has no note', async () => {
    await write('config.yaml', 'mongodb:\n  db: x\n');
    expect((await load()).notes).toEqual([]);
  });

  it('bounds counts and stock settings by the same limits as the options, naming them', async () => {
    await write('config.yaml', 'generate:\n  customers: 99999999999\ninventory:\n  initialStock: 2000000000\n');
    const error = await configErrorOf(load());
    expect(error.details).toEqual([
      'generate.customers (from file config.yaml): expected a whole number from 1 to 10,000,000',
      'inventory.initialStock (from file config.yaml): expected a whole number from 0 to 1,000,000,000',
    ]);
  });

  it("store and SKU settings follow the id rule: 'Store 12' and 'SKU.1' are fine, a store with ':' is not", async () => {
    await write('config.yaml', 'inventory:\n  defaultStore: Store 12\n  thresholds: { SKU.1: 3 }\n');
    const loaded = await load();
    expect(loaded.config.inventory.defaultStore).toBe('Store 12');
    expect(loaded.config.inventory.thresholds).toEqual({ 'SKU.1': 3 });
    await write('config.yaml', 'inventory:\n  defaultStore: "a:b"\n');
    const error = await configErrorOf(load());
    expect(error.details[0]).toMatch(/^inventory\.defaultStore \(from file config\.yaml\): not a valid store id, contains ':' or '\/'/);
  });
});

describe('namespace', () => {
  it('is off by default: the configured names as they are', async () => {
    const { config } = await load();
    expect(config.namespace).toBeNull();
    expect(config.kafka.topics).toEqual(defaultConfig.kafka.topics);
  });

  it('prefixes every topic and the consumer group, and suffixes the database, saying so in the sources', async () => {
    const loaded = await load({ flags: { namespace: 'trial' } });
    const { config, sources } = loaded;
    expect(config.namespace).toBe('trial');
    expect(Object.values(config.kafka.topics)).toEqual(Object.values(defaultConfig.kafka.topics).map((topic) => `trial.${topic}`));
    expect(config.kafka.groupId).toBe('trial.shopctl-projector');
    expect(config.mongodb.db).toBe('shop_trial');
    expect(sources.namespace).toBe('flag');
    expect(sources['kafka.topics.inventory']).toBe('default + namespace');
    expect(sources['mongodb.db']).toBe('default + namespace');
    // Everything else is untouched.
    expect(config.kafka.brokers).toEqual(defaultConfig.kafka.brokers);
    expect(config.kafka.clientId).toBe(defaultConfig.kafka.clientId);
  });

  it('comes from the file, SHOPCTL_NAMESPACE or --namespace, later wins', async () => {
    await write('config.yaml', 'namespace: fromfile\n');
    expect((await load()).config.mongodb.db).toBe('shop_fromfile');
    expect((await load({ env: { SHOPCTL_NAMESPACE: 'fromenv' } })).config.kafka.groupId).toBe('fromenv.shopctl-projector');
    const both = await load({ env: { SHOPCTL_NAMESPACE: 'fromenv' }, flags: { namespace: 'fromflag' } });
    expect(both.config.kafka.topics.dlq).toBe('fromflag.shop.dlq');
    expect(both.sources.namespace).toBe('flag');
  });

  it('applies to explicit names too: a namespace is always a space of its own', async () => {
    await write('config.yaml', 'kafka:\n  topics:\n    customers: mine.customers\nmongodb:\n  db: mine\n');
    const { config, sources } = await load({ flags: { namespace: 'a', mongodb: { db: 'flagdb' } } });
    expect(config.kafka.topics.customers).toBe('a.mine.customers');
    expect(sources['kafka.topics.customers']).toBe('file config.yaml + namespace');
    expect(config.mongodb.db).toBe('flagdb_a');
    expect(sources['mongodb.db']).toBe('flag + namespace');
  });

  it('is validated: lower-case letters, digits, - and _ only, with a message naming the value and where it came from', async () => {
    for (const bad of ['has space', 'dot.ted', 'slash/x', '', 'x'.repeat(41), 'Trial']) {
      const error = await configErrorOf(load({ flags: { namespace: bad } }));
      expect(error.details, bad).toEqual([`namespace (from flag): '${bad}' is not a namespace: expected 1-40 lower-case letters, digits, '-' or '_'`]);
    }
    const fromEnv = await configErrorOf(load({ env: { SHOPCTL_NAMESPACE: 'a.b' } }));
    expect(fromEnv.details[0]).toMatch(/^namespace \(from SHOPCTL_NAMESPACE\)/);
    expect((await load({ flags: { namespace: 'trial_2-x' } })).config.mongodb.db).toBe('shop_trial_2-x');
  });

  it('a namespace that makes a name too long is refused, naming that name', async () => {
    await write('config.yaml', `mongodb:\n  db: ${'d'.repeat(40)}\n`);
    const error = await configErrorOf(load({ flags: { namespace: 'n'.repeat(30) } }));
    expect(error.details[0]).toMatch(/^mongodb\.db \(from file config\.yaml \+ namespace\): expected a database name/);
  });
});
