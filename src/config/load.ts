import path from 'node:path';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { parse as parseYaml } from 'yaml';
import type { ZodIssue } from 'zod';
import { ConfigError } from '../errors.js';
import { configFromEnv, envVariables } from './env.js';
import { configSchema, defaultConfig, type Config } from './schema.js';

export const MODULE_NAME = 'shopctl';

const searchPlaces = [
  'config.yaml',
  '.shopctlrc',
  '.shopctlrc.yaml',
  '.shopctlrc.yml',
  '.shopctlrc.json',
  'shopctl.config.js',
  'shopctl.config.mjs',
  'shopctl.config.ts',
];

export interface LoadConfigOptions {
  cwd?: string;
  /** --config PATH: use exactly this file instead of searching. */
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, shaped like the configuration (highest precedence). */
  flags?: Record<string, unknown>;
}

export interface LoadedConfig {
  /** Effective: with a namespace, its topics, consumer group and database are the namespaced ones. */
  config: Config;
  /** The file the configuration came from, if any (an empty file counts: it was read). */
  file: string | null;
  /** For each key path ("kafka.brokers"), where its effective value came from. */
  sources: Record<string, string>;
  /** Things a person should know about how the configuration was read (one line each, for stderr). */
  notes: string[];
}

interface Layer {
  label: string;
  value: Record<string, unknown>;
  /** A file with no settings in it (nothing, or only comments). */
  empty?: boolean;
}

const yamlLoader: Loader = (filepath, content) => {
  try {
    // Only comments parse to null, which cosmiconfig takes for "no file": undefined is "empty".
    return (parseYaml(content) as unknown) ?? undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(`${filepath}: not valid YAML: ${reason}`, { cause: error });
  }
};

async function readConfigFile(options: LoadConfigOptions): Promise<Layer | null> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces,
    searchStrategy: 'none',
    // An empty config.yaml is found and used (with defaults), not skipped for the next place.
    ignoreEmptySearchPlaces: false,
    loaders: { '.yaml': yamlLoader, '.yml': yamlLoader, noExt: yamlLoader },
  });
  const cwd = options.cwd ?? process.cwd();
  let result;
  try {
    result = options.configPath
      ? await explorer.load(path.resolve(cwd, options.configPath))
      : await explorer.search(cwd);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.configPath) {
      throw new ConfigError(`Config file not found: ${options.configPath}`, {
        suggestion: 'Check the path given to --config.',
      });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`Could not read the config file: ${reason}`, { cause: error });
  }
  if (!result) return null;
  const relative = path.relative(cwd, result.filepath);
  const shown = relative && !relative.startsWith('..') ? relative : result.filepath;
  // An empty file (or one with only comments) is still the file that was asked for or found: it
  // is used, with every setting at its default, and is not mistaken for "no file found".
  const value: unknown = result.config;
  if (result.isEmpty || value === null || value === undefined) return { label: `file ${shown}`, value: {}, empty: true };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${result.filepath}: expected a mapping of settings at the top level`);
  }
  return { label: `file ${shown}`, value: value as Record<string, unknown> };
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const file = await readConfigFile(options);
  const layers: Layer[] = [{ label: 'default', value: defaultConfig as unknown as Record<string, unknown> }];
  if (file) layers.push(file);
  layers.push({ label: 'env', value: configFromEnv(options.env ?? process.env) });
  if (options.flags) layers.push({ label: 'flag', value: options.flags });

  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer.value), {});
  const sources = describeSources(layers);
  const fileName = file ? file.label.replace(/^file /, '') : null;
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw invalid(parsed.error.issues, sources, file);
  const config = withNamespace(parsed.data, sources);
  // The namespaced names must still be valid names (a long namespace can make one too long).
  const resolved = configSchema.safeParse(config);
  if (!resolved.success) throw invalid(resolved.error.issues, sources, file);
  const notes = file?.empty ? [`config: ${fileName} is empty; using defaults`] : [];
  return { config: resolved.data, file: fileName, sources, notes };
}

function invalid(issues: readonly ZodIssue[], sources: Record<string, string>, file: Layer | null): ConfigError {
  const details = issues.flatMap((issue) => formatIssue(issue, sources));
  const fromFile = file && details.every((detail) => detail.includes(`(from ${file.label})`));
  return new ConfigError(fromFile ? `Invalid configuration in ${file.label.replace(/^file /, '')}` : 'Invalid configuration', {
    details,
    suggestion: 'Fix the keys listed above; `shopctl config show` prints the effective configuration.',
  });
}

/**
 * The names a namespace gives: every Kafka topic `NS.<topic>`, the consumer group `NS.<group>`,
 * the database `<db>_NS` (database names cannot hold '.'). The namespace applies to whatever
 * names are configured, from any layer (an explicit --db or topic too): it is always a space of
 * its own, never one of the names without it.
 */
export function namespacedNames(namespace: string, names: { topics: Record<string, string>; groupId: string; db: string }) {
  return {
    topics: Object.fromEntries(Object.entries(names.topics).map(([key, topic]) => [key, `${namespace}.${topic}`])),
    groupId: `${namespace}.${names.groupId}`,
    db: `${names.db}_${namespace}`,
  };
}

function withNamespace(config: Config, sources: Record<string, string>): Config {
  const { namespace } = config;
  if (namespace === null) return config;
  const names = namespacedNames(namespace, { topics: config.kafka.topics, groupId: config.kafka.groupId, db: config.mongodb.db });
  const keys = [...Object.keys(config.kafka.topics).map((key) => `kafka.topics.${key}`), 'kafka.groupId', 'mongodb.db'];
  for (const key of keys) sources[key] = `${sources[key] ?? 'default'} + namespace`;
  return {
    ...config,
    kafka: { ...config.kafka, groupId: names.groupId, topics: names.topics as Config['kafka']['topics'] },
    mongodb: { ...config.mongodb, db: names.db },
  };
}

function formatIssue(issue: ZodIssue, sources: Record<string, string>): string[] {
  // An unknown key is reported on its own path, one line per key.
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const keyPath = [...issue.path, key];
      const origin = originOf(keyPath, sources);
      return `${formatPath(keyPath)}${origin ? ` (from ${origin})` : ''}: unknown key`;
    });
  }
  const key = formatPath(issue.path);
  const origin = originOf(issue.path, sources);
  return [`${key || '(top level)'}${origin ? ` (from ${origin})` : ''}: ${issue.message}`];
}

function originOf(issuePath: readonly PropertyKey[], sources: Record<string, string>): string | undefined {
  const keys = issuePath.filter((part): part is string => typeof part === 'string');
  // A section (an unknown `kafak:` with keys under it) has no source of its own: its leaves do.
  const whole = keys.join('.');
  const below = whole ? Object.entries(sources).find(([key]) => key.startsWith(`${whole}.`)) : undefined;
  if (below && sources[whole] === undefined) return labelOf(below[1], below[0]);
  for (let length = keys.length; length > 0; length -= 1) {
    const key = keys.slice(0, length).join('.');
    const source = sources[key];
    if (source) return labelOf(source, key);
  }
  return undefined;
}

/** A source as an issue names it: the file, the flag layer, or the SHOPCTL_* variable. */
function labelOf(source: string, key: string): string {
  if (source !== 'env') return source;
  const variable = Object.entries(envVariables).find(([, spec]) => spec.path.join('.') === key);
  return variable ? variable[0] : 'environment';
}

export function formatPath(parts: readonly PropertyKey[]): string {
  return parts.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc ? `${acc}.${String(part)}` : String(part);
  }, '');
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// Objects merge key by key; arrays and scalars are replaced whole; null replaces too.
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = result[key];
    result[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return result;
}

function describeSources(layers: readonly Layer[]): Record<string, string> {
  const sources: Record<string, string> = {};
  const visit = (value: unknown, prefix: string, label: string): void => {
    // Only leaves get a source: a section can mix values from several layers.
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) {
        if (child !== undefined) visit(child, prefix ? `${prefix}.${key}` : key, label);
      }
      return;
    }
    sources[prefix] = label;
  };
  for (const layer of layers) visit(layer.value, '', layer.label);
  return sources;
}
