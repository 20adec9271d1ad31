import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { ServiceUnavailableError } from '../errors.js';

const levels: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export function brokersLabel(config: Config): string {
  return config.kafka.brokers.join(',');
}

// kafkajs is quiet unless SHOPCTL_KAFKA_LOG=error|warn|info|debug asks otherwise: shopctl reports
// failures itself, with the endpoint and what to do.
export function createKafka(config: Config, clientIdSuffix = ''): Kafka {
  const { kafka } = config;
  const options: KafkaConfig = {
    clientId: `${kafka.clientId}${clientIdSuffix}`,
    brokers: kafka.brokers,
    ssl: kafka.ssl,
    connectionTimeout: kafka.connectionTimeoutMs,
    requestTimeout: 30_000,
    // Short enough that an unreachable broker is reported within seconds.
    retry: { retries: 3, initialRetryTime: 250, maxRetryTime: 2000 },
    logLevel: levels[(process.env.SHOPCTL_KAFKA_LOG ?? 'nothing').toLowerCase()] ?? logLevel.NOTHING,
  };
  if (kafka.sasl) {
    options.sasl = {
      mechanism: kafka.sasl.mechanism,
      username: kafka.sasl.username,
      password: kafka.sasl.password,
    } as SASLOptions;
  }
  return new Kafka(options);
}

/** Runs a kafkajs connect, turning connection failures into one clear error naming the brokers. */
export async function connectOrExplain(config: Config, connect: () => Promise<void>): Promise<void> {
  try {
    await connect();
  } catch (error) {
    throw new ServiceUnavailableError('kafka', brokersLabel(config), error);
  }
}

// kafkajs errors that mean the broker went away or cannot be reached (connection refused, reset
// or closed, a request without an answer, no broker left to ask). kafkajs sets `name` on each of
// its error classes; its ES module entry does not re-export the classes for `instanceof`.
const unreachable = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
]);

/**
 * Whether a kafkajs failure says the cluster is unreachable. Retried failures arrive wrapped
 * (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError): their cause decides.
 */
export function isKafkaUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  if (unreachable.has(error.name)) return true;
  if (!error.name.startsWith('KafkaJS')) return false;
  const { cause, originalError } = error as Error & { originalError?: unknown };
  return isKafkaUnavailable(cause ?? originalError, depth + 1);
}
