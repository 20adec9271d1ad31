import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { ExitCode, ShopctlError, UsageError } from '../errors.js';
import { createLogger, levelFrom } from '../log.js';
import { buildServer } from '../server/app.js';
import type { Context } from '../services/context.js';
import { startConsuming, type Consuming } from '../services/consume.js';
import { createFeed } from '../services/feed.js';
import { checkHealth } from '../services/health.js';
import { currentStock } from '../services/stock.js';
import { consumerLag } from '../services/topics.js';
import { observedWriter, type EventWriter } from '../services/writer.js';
import { examples, flagField, intField, run, viaField, viaOption } from './shared.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const TOKEN_RULE = 'at least 8 printable ASCII characters, no spaces';

export const serveOptionsSchema = z.object({
  host: z.string().min(1, '--host: give a host name or address').optional(),
  port: intField('--port', { min: 0, max: 65_535 }).optional(),
  via: viaField,
  token: z
    .string()
    .refine((token) => token.length >= 8 && /^[\x21-\x7e]+$/.test(token), `--token: expected ${TOKEN_RULE}`)
    .optional(),
  tokenReads: flagField,
  consume: flagField,
  group: z.string().min(1).optional(),
});
export type ServeOptions = z.infer<typeof serveOptionsSchema>;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the shop over HTTP: the inventory case study\'s calls, stock and reservations, the shop, a live event stream, a live dashboard and /openapi.json (long-running)')
    .option('--host <address>', 'address to listen on (default: serve.host, 127.0.0.1: this machine only)')
    .option('--port <n>', 'port (default: serve.port, 8080; 0: any free port)')
    .addOption(viaOption())
    .option('--token <token>', `bearer token the writing endpoints ask for (default: serve.token or SHOPCTL_SERVE_TOKEN, which keep it out of \`ps\`; ${TOKEN_RULE})`)
    .option('--token-reads', 'reading endpoints ask for the token too (default: serve.tokenReads)')
    .option('--consume', 'also project Kafka events into MongoDB in this process (as `shopctl consume` does), and stream them on /events')
    .addOption(new Option('--group <id>', 'consumer group with --consume (default: kafka.groupId)'))
    .addHelpText(
      'after',
      `
Writes go --via db (applied now: 200) or --via kafka (published: 202, applied by \`shopctl consume\`).
Ctrl-C or SIGTERM stops taking requests, answers those in flight, and exits 0.
Endpoints: GET /openapi.json describes them all; GET /healthz says whether Kafka and MongoDB answer.
The live dashboard is at / (with --consume it shows every event projected from Kafka, and the lag).
${examples(
  'shopctl serve',
  'SHOPCTL_SERVE_TOKEN=s3cret-token shopctl serve --port 8080 --via kafka --consume',
  'curl --form availableQuantity=10 --form productID=SKU-4F7QX2AB http://127.0.0.1:8080/inventory',
  'curl -s http://127.0.0.1:8080/stock?sku=SKU-4F7QX2AB',
  'curl -N http://127.0.0.1:8080/events',
)}`,
    )
    .action(run(serveOptionsSchema, serve));
}

async function serve(context: Context, options: ServeOptions): Promise<number> {
  const { config, output } = context;
  const host = options.host ?? config.serve.host;
  const port = options.port ?? config.serve.port;
  const token = options.token ?? config.serve.token;
  const tokenReads = options.tokenReads || config.serve.tokenReads;
  if (tokenReads && token === null) throw new UsageError('--token-reads needs a token: give --token, serve.token or SHOPCTL_SERVE_TOKEN');
  const log = createLogger('shopctl', levelFrom(process.env.SHOPCTL_LOG) ?? 'info').namespace('http');
  const groupId = options.group === undefined ? config.kafka.groupId : config.namespace === null ? options.group : `${config.namespace}.${options.group}`;
  // With --consume, the stream's stats carry the group's lag (from Kafka; no database read).
  const lag = options.consume ? consumerLag(context, groupId) : null;
  const feed = createFeed({
    levels: async () => currentStock((await context.database()).db, config),
    ...(lag ? { lag: () => lag.lag() } : {}),
    onError: (error) => log.warn('a check for the live stream failed', { error: error instanceof Error ? error.message : String(error) }),
  });
  // Every write this server makes through the projection is streamed on /events as applied.
  const writers = new Map<'db' | 'kafka', EventWriter>();
  const served: Context = {
    ...context,
    writer: async (via) => {
      const writer = writers.get(via) ?? observedWriter(await context.writer(via), (events) => feed.applied(events));
      writers.set(via, writer);
      return writer;
    },
  };
  const app = await buildServer({
    context: served,
    via: options.via,
    version: pkg.version,
    token,
    tokenReads,
    bodyLimitBytes: config.serve.bodyLimitBytes,
    requestTimeoutMs: config.serve.requestTimeoutMs,
    log,
    feed,
  });
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new ShopctlError(`port ${port} on ${host} is in use`, { code: 'PORT_IN_USE', suggestion: 'Stop what listens there, or choose another with --port (0: any free port).' });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
      throw new UsageError(`cannot listen on ${host}:${port} (${code})`, { suggestion: 'Give --host an address of this machine, e.g. 127.0.0.1.' });
    }
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const base = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  output.data(`serving ${base} (writes --via ${options.via}${token === null ? '' : tokenReads ? '; every endpoint asks for the token' : '; writing endpoints ask for the token'})`);
  output.data(`  ${base}/ (the dashboard)   ${base}/openapi.json   ${base}/healthz   ${base}/events`);
  if (!LOOPBACK.has(host)) output.warn(`listening on ${host}: other machines can reach this server${token === null ? ', and without a token anyone of them can write' : ''}`);

  let consuming: Consuming | null = null;
  const stopped = new Promise<string>((resolve) => {
    const onSignal = (signal: string) => () => resolve(signal);
    process.once('SIGINT', onSignal('SIGINT'));
    process.once('SIGTERM', onSignal('SIGTERM'));
  });
  try {
    const health = await checkHealth(context);
    for (const [name, reach] of [['Kafka', health.kafka], ['MongoDB', health.mongodb]] as const) {
      if (!reach.reachable) output.warn(`${name} does not answer (${reach.error ?? 'unreachable'}): requests that need it get 503 until it does`);
    }
    if (options.consume) {
      consuming = await startConsuming(context, { groupId, fromBeginning: false, onApplied: (events) => feed.applied(events) });
      output.data(`  projecting Kafka events as group '${groupId}'`);
    }
    const ended = await Promise.race([stopped, ...(consuming ? [consuming.done.then(() => 'consumer')] : [])]);
    output.info(ended === 'consumer' ? 'the consumer stopped: stopping the server' : `${ended}: answering the requests in flight, then stopping`);
    // A second signal while closing stops at once.
    const now = () => process.exit(ExitCode.interrupted);
    process.once('SIGINT', now);
    process.once('SIGTERM', now);
  } finally {
    await app.close();
    feed.close();
    await lag?.close();
    if (consuming) {
      await consuming.stop();
      const totals = await consuming.done;
      output.data(`  projected: applied ${totals.applied}, duplicates skipped ${totals.duplicates}, retried later ${totals.retried}, dead-lettered ${totals.deadLettered}`);
    }
  }
  output.data('stopped');
  return ExitCode.ok;
}
