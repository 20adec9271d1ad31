import { ConfigError } from '../errors.js';

type Parser = (raw: string, variable: string) => unknown;

const text: Parser = (raw) => raw;
const list: Parser = (raw) =>
  raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
const integer: Parser = (raw, variable) => {
  if (!/^-?\d+$/.test(raw.trim())) {
    throw new ConfigError(`${variable}: expected an integer, got '${raw}'`);
  }
  return Number(raw.trim());
};
const boolean: Parser = (raw, variable) => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${variable}: expected true or false, got '${raw}'`);
};

// Every SHOPCTL_* variable shopctl reads, and the configuration key it sets.
export const envVariables: Readonly<Record<string, { path: readonly string[]; parse: Parser }>> = {
  SHOPCTL_NAMESPACE: { path: ['namespace'], parse: text },
  SHOPCTL_KAFKA_BROKERS: { path: ['kafka', 'brokers'], parse: list },
  SHOPCTL_KAFKA_CLIENT_ID: { path: ['kafka', 'clientId'], parse: text },
  SHOPCTL_KAFKA_GROUP_ID: { path: ['kafka', 'groupId'], parse: text },
  SHOPCTL_KAFKA_SSL: { path: ['kafka', 'ssl'], parse: boolean },
  SHOPCTL_KAFKA_PARTITIONS: { path: ['kafka', 'partitions'], parse: integer },
  SHOPCTL_KAFKA_SASL_MECHANISM: { path: ['kafka', 'sasl', 'mechanism'], parse: text },
  SHOPCTL_KAFKA_SASL_USERNAME: { path: ['kafka', 'sasl', 'username'], parse: text },
  SHOPCTL_KAFKA_SASL_PASSWORD: { path: ['kafka', 'sasl', 'password'], parse: text },
  SHOPCTL_MONGODB_URI: { path: ['mongodb', 'uri'], parse: text },
  SHOPCTL_MONGODB_DB: { path: ['mongodb', 'db'], parse: text },
  SHOPCTL_SEED: { path: ['generate', 'seed'], parse: integer },
  SHOPCTL_LOCALE: { path: ['generate', 'locale'], parse: text },
  SHOPCTL_SERVE_HOST: { path: ['serve', 'host'], parse: text },
  SHOPCTL_SERVE_PORT: { path: ['serve', 'port'], parse: integer },
  SHOPCTL_SERVE_TOKEN: { path: ['serve', 'token'], parse: text },
};

export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [variable, { path, parse }] of Object.entries(envVariables)) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    setPath(result, path, parse(raw, variable));
  }
  return result;
}

export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  path.forEach((key, index) => {
    if (index === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
}
