import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Config } from '../config/schema.js';
import type { ShopEvent } from '../domain/events.js';
import type { Outcome, ProjectionInput } from '../domain/projector.js';
import { logger } from '../log.js';
import { connectOrExplain } from './client.js';
import { decodeEvent, encodeEvent, positionKey } from './codec.js';
import { deadLetterMessage, type DeadLetter } from './dead-letter.js';
import { createProducer } from './publisher.js';
import { attemptOf, canRetry, dueAt, isForGroup, retryMessage, type RetryPolicy } from './retry.js';
import { ensureTopics, projectedTopics, withAdmin } from './topics.js';

export interface ProjectorTotals {
  applied: number;
  duplicates: number;
  retried: number;
  deadLettered: number;
  batches: number;
}

/** Applies a chunk of one partition's events (the projection service): one outcome per input. */
export type ApplyChunk = (inputs: ProjectionInput[], options: { holder: string }) => Promise<{ outcomes: Outcome[]; decisions?: readonly ShopEvent[] }>;

export interface ProjectorOptions {
  kafka: Kafka;
  apply: ApplyChunk;
  config: Config;
  groupId: string;
  /** Rewind the group to the oldest retained event before starting (a replay). */
  fromBeginning: boolean;
  /** Stop once no event arrived for this long (after joining the group, with no retry pending). */
  untilIdleMs?: number | undefined;
  /** Stop after this many events (applied + duplicates + retried + dead-lettered). */
  maxEvents?: number | undefined;
  onProgress?: (totals: Readonly<ProjectorTotals>) => void;
  /** Clock for dead-letter timestamps and retry schedules. */
  now?: () => Date;
}

export interface RunningProjector {
  /** Resolves when the projector stopped (idle, max events, stop()); rejects on a fatal error. */
  done: Promise<ProjectorTotals>;
  /** Finishes the batch in hand, commits, disconnects. */
  stop(): Promise<ProjectorTotals>;
  totals: Readonly<ProjectorTotals>;
}

/** How often the consumer heartbeats, also while a chunk is being applied. */
const HEARTBEAT_MS = 1000;
/** Events per MongoDB round-trip group; a Kafka batch larger than this is applied in chunks. */
export const PROJECTOR_CHUNK = 5000;
/** Messages per produce request to the retry and dead-letter topics (stays under message.max.bytes). */
const SIDE_SEND = 200;

const log = logger.namespace('consumer');

export async function startProjector(options: ProjectorOptions): Promise<RunningProjector> {
  const { kafka, config } = options;
  const now = options.now ?? (() => new Date());
  const policy: RetryPolicy = { maxRetries: config.consume.maxRetries, backoffMs: config.consume.retryBackoffMs };
  const retryTopic = config.kafka.topics.retry;
  const topics = [...projectedTopics(config), retryTopic];
  await withAdmin(kafka, config, async (admin) => {
    await ensureTopics(admin, config);
    if (options.fromBeginning) await rewindGroup(admin, options.groupId, topics);
  });

  const producer: Producer = createProducer(kafka);
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 250,
    // A crashed consumer's partitions move to the others after 10 s rather than 30 s; every
    // chunk of a batch heartbeats, so a slow batch does not lose its partitions.
    sessionTimeout: 10_000,
    heartbeatInterval: HEARTBEAT_MS,
  });
  await connectOrExplain(config, async () => {
    await producer.connect();
    await consumer.connect();
  });
  // A partition the group has never committed on starts at its oldest event: a projector that
  // started at the newest would silently miss everything produced before it first ran.
  await consumer.subscribe({ topics, fromBeginning: true });

  const totals: ProjectorTotals = { applied: 0, duplicates: 0, retried: 0, deadLettered: 0, batches: 0 };
  let lastActivity = Number.POSITIVE_INFINITY; // the idle clock starts with the first fetch
  let busy = false;
  const waiting = new Set<NodeJS.Timeout>(); // retry partitions paused until their next message is due
  let stopping: Promise<ProjectorTotals> | null = null;
  let resolveDone!: (totals: ProjectorTotals) => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<ProjectorTotals>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  // Refusals are counted once per event (once per attempt for retries), by event id where the
  // message was readable: Kafka delivers at least once, so a chunk delivered again (a rebalance)
  // sends its refusals again, and their retries come back twice; they are still the same refusals.
  const counted = new Set<string>();
  const firstTimes = (letters: readonly DeadLetter[], perAttempt: boolean): number => {
    let count = 0;
    for (const letter of letters) {
      const who = letter.eventId ?? `${letter.topic}:${letter.partition}:${letter.message.offset}`;
      const key = perAttempt ? `retry ${who}#${attemptOf(letter.message)}` : `dead ${who}`;
      if (!counted.has(key)) count += 1;
      counted.add(key);
    }
    return count;
  };
  const seen = () => totals.applied + totals.duplicates + totals.retried + totals.deadLettered;
  const stop = (): Promise<ProjectorTotals> => {
    stopping ??= (async () => {
      clearInterval(idleTimer);
      for (const timer of waiting) clearTimeout(timer);
      // disconnect() waits for the batch in hand, which commits its own offsets.
      await consumer.disconnect();
      await producer.disconnect();
      resolveDone({ ...totals });
      return { ...totals };
    })();
    return stopping;
  };

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    log.info('joined the group', { groupId: options.groupId, partitions: event.payload.memberAssignment });
  });
  // The idle clock starts with the first fetch that came back, not with joining the group: a
  // broker that has just started (or topics just re-created) can take seconds to answer the
  // first fetch, and `--until-idle 3` must not take that wait for an empty topic.
  consumer.on(consumer.events.FETCH, () => {
    if (lastActivity === Number.POSITIVE_INFINITY) lastActivity = Date.now();
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) {
      rejectDone(event.payload.error);
      void stop().catch(() => undefined);
    }
  });
  // Idle is not enough to stop: right after a broker started, a new group's first fetches can
  // come back empty for seconds while events wait on the topics (`consume --until-idle 3` then
  // stopped having applied nothing). Once idle, it stops only when the group has committed
  // every partition's end; past a grace period it stops anyway (saying so in the log).
  let checking = false;
  const idleTimer = setInterval(() => {
    if (options.untilIdleMs === undefined || busy || waiting.size > 0 || checking || stopping) return;
    const idleFor = Date.now() - lastActivity;
    if (idleFor < options.untilIdleMs) return;
    checking = true;
    void behind(kafka, config, options.groupId, topics)
      .then((lag) => {
        if (lag === 0) return void stop();
        if (idleFor >= options.untilIdleMs! + CATCH_UP_GRACE_MS) {
          log.warn('stopping while idle with events not consumed', { lag });
          return void stop();
        }
        log.debug('idle, but the group has not reached the end of its topics: waiting', { lag });
      })
      .catch(() => void stop())
      .finally(() => {
        checking = false;
      });
  }, 100);

  const send = async (topic: string, messages: Message[]): Promise<void> => {
    for (let start = 0; start < messages.length; start += SIDE_SEND) {
      await producer.send({ topic, acks: -1, messages: messages.slice(start, start + SIDE_SEND) });
    }
  };

  // Applies one chunk of messages of one partition; retries and dead letters are durable in
  // Kafka before the offsets that cover them are committed.
  const processChunk = async (topic: string, partition: number, messages: KafkaMessage[]): Promise<void> => {
    const inputs: ProjectionInput[] = [];
    const inputMessages: KafkaMessage[] = [];
    const letters: DeadLetter[] = [];
    const key = positionKey(topic, partition);
    for (const message of messages) {
      if (topic === retryTopic && !isForGroup(message, options.groupId)) continue;
      const decoded = decodeEvent(message.value);
      if (decoded.ok) {
        inputs.push({ event: decoded.event, position: { key, offset: Number(message.offset) } });
        inputMessages.push(message);
      } else {
        letters.push({ topic, partition, message, reason: decoded.reason, detail: decoded.message });
      }
    }
    // The holder names this partition's consumer: a successor takes back at once the leases a
    // crashed predecessor left on its documents.
    const result = await options.apply(inputs, { holder: `consume:${options.groupId}:${key}` });
    result.outcomes.forEach((outcome, index) => {
      const message = inputMessages[index];
      if (outcome.status === 'applied') totals.applied += 1;
      else if (outcome.status === 'duplicate') totals.duplicates += 1;
      else if (message) letters.push({ topic, partition, message, reason: outcome.reason, detail: outcome.message, eventId: inputs[index]?.event.id });
    });
    const at = now();
    const retries = letters.filter((letter) => canRetry(letter.message, letter.reason, policy));
    const dead = letters.filter((letter) => !canRetry(letter.message, letter.reason, policy));
    // The store's decisions on the reservation requests of this chunk go back to the reservations
    // topic (keyed by the store) before the offsets are committed: at least once, and their ids
    // make a repeat a duplicate.
    if (result.decisions && result.decisions.length > 0) await send(config.kafka.topics.reservations, result.decisions.map(encodeEvent));
    await send(retryTopic, retries.map((letter) => retryMessage(letter, policy, at.getTime(), options.groupId)));
    await send(config.kafka.topics.dlq, dead.map((letter) => deadLetterMessage(letter, at)));
    totals.retried += firstTimes(retries, true);
    totals.deadLettered += firstTimes(dead, false);
    if (letters.length > 0) log.debug('refusals sent', { topic, partition, retried: retries.length, deadLettered: dead.length });
  };

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    busy = true;
    try {
      for (let start = 0; start < batch.messages.length; start += PROJECTOR_CHUNK) {
        if (!payload.isRunning() || payload.isStale()) return;
        let messages = batch.messages.slice(start, start + PROJECTOR_CHUNK);
        if (options.maxEvents !== undefined) {
          const left = options.maxEvents - seen();
          if (left <= 0) break;
          messages = messages.slice(0, left);
        }
        // A retry that is not due yet: apply what is before it, then pause this partition until
        // it is due. The partition resumes at the first unresolved offset; nothing else waits.
        let wait = 0;
        if (batch.topic === retryTopic) {
          const clock = now().getTime();
          const notDue = messages.findIndex((message) => isForGroup(message, options.groupId) && dueAt(message) > clock);
          if (notDue >= 0) {
            const blocked = messages[notDue];
            wait = blocked ? dueAt(blocked) - clock : 0;
            messages = messages.slice(0, notDue);
          }
        }
        if (messages.length > 0) {
          // A chunk can take longer than the session timeout (FerretDB rewrites slowly in a
          // large catalog): keep heartbeating while it is applied, or the group drops us.
          const beating = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_MS);
          try {
            await processChunk(batch.topic, batch.partition, messages);
            const last = messages[messages.length - 1];
            if (last) {
              payload.resolveOffset(last.offset);
              // Through the batch, not consumer.commitOffsets: once stop() began (SIGINT or
              // SIGTERM), kafkajs 2.2's consumer-level commit silently does nothing, and the
              // chunk just applied would be delivered again to the next consumer.
              const offsets = { topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(last.offset) + 1) }] }] };
              await commitWithRetries(() => payload.commitOffsetsIfNecessary(offsets));
            }
          } finally {
            clearInterval(beating);
          }
          totals.batches += 1;
          options.onProgress?.(totals);
        }
        lastActivity = Date.now();
        await payload.heartbeat();
        if (wait > 0) {
          const resume = payload.pause();
          const timer = setTimeout(() => {
            waiting.delete(timer);
            lastActivity = Date.now(); // the idle clock restarts when the retry is due
            resume();
          }, wait);
          waiting.add(timer);
          return;
        }
      }
      if (options.maxEvents !== undefined && seen() >= options.maxEvents) void stop();
    } finally {
      busy = false;
      lastActivity = Date.now();
    }
  };

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch,
  });

  return { done, stop, totals };
}

/** How long `--until-idle` waits past its idle time for a group that has not reached the end. */
const CATCH_UP_GRACE_MS = 30_000;

/** Events on the topics past what the group has committed (a partition never committed: from its oldest). */
async function behind(kafka: Kafka, config: Config, groupId: string, topics: readonly string[]): Promise<number> {
  return withAdmin(kafka, config, async (admin) => {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    let lag = 0;
    for (const { topic, partitions } of committed) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p]));
      for (const { partition, offset } of partitions) {
        const end = ends.get(partition);
        if (!end) continue;
        const from = offset === '-1' ? Number(end.low) : Number(offset);
        lag += Math.max(0, Number(end.high) - from);
      }
    }
    return lag;
  });
}

/**
 * kafkajs retries a failed commit and then wraps the error, which hides its type from kafkajs'
 * own runner: the runner rejoins the group only for errors whose type says the group moved on
 * (this member timed out, a rebalance began). Such an error is rethrown as itself, so the
 * consumer rejoins and the uncommitted chunk comes again (applying it again has no effect);
 * anything else is left as it was.
 */
export function groupErrorOf(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string' && GROUP_ERRORS.has(type)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return error;
}

/**
 * Commits, trying again a few times on a transient coordinator error (a broker just started is
 * still loading its offsets topic): giving up at once would make kafkajs deliver the chunk again
 * and send its refusals twice. An error that says the group moved on is rethrown as itself, so
 * the consumer rejoins (see groupErrorOf).
 */
async function commitWithRetries(commit: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await commit();
      return;
    } catch (error) {
      const grouped = groupErrorOf(error);
      const type = (grouped as { type?: unknown }).type;
      const transient = (error as { retriable?: boolean }).retriable === true && !(typeof type === 'string' && GROUP_ERRORS.has(type));
      if (!transient || attempt >= 5) throw grouped;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

const GROUP_ERRORS = new Set(['UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'NOT_COORDINATOR_FOR_GROUP']);

// Moves the group's committed offsets back to the oldest retained event. Only topics the group
// has committed on need it (a group that never committed starts at the oldest event anyway),
// which also spares new groups kafkajs' slow resetOffsets on a group that does not exist yet.
async function rewindGroup(admin: Admin, groupId: string, topics: readonly string[]): Promise<void> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  for (const { topic, partitions } of committed) {
    if (partitions.every((partition) => partition.offset === '-1')) continue;
    const low = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: low.map((p) => ({ partition: p.partition, offset: p.low })) });
  }
}
