import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { defaultConfig } from '../../src/config/schema.js';

// Integration tests run against the local stack (npm run stack:up). If it is not there, fail
// the whole run at once with the reason, instead of every test timing out on its own.
export default async function setup(): Promise<void> {
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
