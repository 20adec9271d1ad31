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
  config: Config;
  /** The file the configuration came from, if any. */
  file: string | null;
  /** For each key path ("kafka.brokers"), where its effective value came from. */
  sources: Record<string, string>;
}

interface Layer {
  label: string;
  value: Record<string, unknown>;
}

const yamlLoader: Loader = (filepath, content) => {
  try {
    return parseYaml(content) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(`${filepath}: not valid YAML: ${reason}`, { cause: error });
  }
};

async function readConfigFile(options: LoadConfigOptions): Promise<Layer | null> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces,
    searchStrategy: 'none',
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
  if (!result || result.isEmpty) return null;
  const value: unknown = result.config;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${result.filepath}: expected a mapping of settings at the top level`);
  }
  const relative = path.relative(cwd, result.filepath);
  const shown = relative && !relative.startsWith('..') ? relative : result.filepath;
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
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const details = parsed.error.issues.flatMap((issue) => formatIssue(issue, sources));
    const fromFile = file && details.every((detail) => detail.includes(`(from ${file.label})`));
    throw new ConfigError(fromFile ? `Invalid configuration in ${file.label.replace(/^file /, '')}` : 'Invalid configuration', {
      details,
      suggestion: 'Fix the keys listed above; `shopctl config show` prints the effective configuration.',
    });
  }
  return { config: parsed.data, file: file ? file.label.replace(/^file /, '') : null, sources };
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
  for (let length = keys.length; length > 0; length -= 1) {
    const source = sources[keys.slice(0, length).join('.')];
    if (source === 'env') {
      const variable = Object.entries(envVariables).find(([, spec]) => spec.path.join('.') === keys.slice(0, length).join('.'));
      return variable ? variable[0] : 'environment';
    }
    if (source) return source;
  }
  return undefined;
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
