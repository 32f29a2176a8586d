/**
 * "Change event seen": the demo API's own Kafka consumer on evictd's change topics, independent of
 * evictd's invalidator (own consumer group, starting at the end of each topic).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel as kafkaLogLevel, type Consumer, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { parseOp, type ChangeEvent } from '@evictd/schemas';

export type FeedState = 'waiting-for-topics' | 'joining' | 'ready' | 'retrying' | 'stopped' | 'failed';

export interface ChangeFeed {
  state(): FeedState;
  topics: readonly string[];
  stop(): Promise<void>;
}

export interface ChangeFeedOptions {
  brokers: readonly string[];
  topicPrefix: string;
  logger: Logger;
  onEvent(event: ChangeEvent, receivedAt: number): void;
}

/** The tables the demo caches; evictd names their topics <prefix>.<schema>.<table>. */
const TABLES = ['public.products', 'public.categories'];
const STOP_WAIT_MS = 2000;

export function startChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { logger } = options;
  const topics = TABLES.map((t) => `${options.topicPrefix}.${t}`);
  const kafka = new Kafka({
    clientId: 'evictd-demo-api',
    brokers: [...options.brokers],
    logLevel: kafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logger.warn({ kafka: entry.log }, entry.log.message),
  });
  const abort = new AbortController();
  let state: FeedState = 'waiting-for-topics';
  let consumer: Consumer | undefined;

  const startOnce = async () => {
    state = 'waiting-for-topics';
    const admin = kafka.admin();
    await admin.connect();
    try {
      // evictd creates the topics when it starts: the API serves reads meanwhile.
      for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t));
        if (missing.length === 0) break;
        logger.debug({ missing }, 'timeline: waiting for evictd to create its topics');
        await sleep(delay, undefined, { signal: abort.signal });
      }
    } finally {
      await admin.disconnect();
    }
    state = 'joining';
    // Its own group, so it sees every event whatever evictd's invalidator does.
    const c = kafka.consumer({ groupId: `evictd-demo-timeline-${randomUUID()}`, maxWaitTimeInMs: 20 });
    consumer = c;
    // Offsets of a new group start at the end; the first completed fetch means they are resolved,
    // so from then on no change is missed.
    c.on(c.events.FETCH, () => {
      if (state === 'joining') {
        state = 'ready';
        logger.info({ topics }, 'timeline: reading change events');
      }
    });
    c.on(c.events.CRASH, ({ payload }) => {
      // kafkajs restarts the consumer itself after retriable errors; otherwise the timeline is done.
      if (!payload.restart && !abort.signal.aborted) {
        state = 'failed';
        logger.error({ err: payload.error }, 'timeline: the change consumer stopped; the API keeps serving without the "seen" step');
      }
    });
    await c.connect();
    abort.signal.throwIfAborted();
    await c.subscribe({ topics, fromBeginning: false });
    await c.run({
      eachMessage: async ({ message }) => {
        const receivedAt = Date.now();
        const event = decodeChangeEvent(message.value);
        if (event) options.onEvent(event, receivedAt);
      },
    });
  };

  // Kafka may not be up yet (containers start in any order): keep trying until stopped.
  // consumer.run() returns once the consumer is running, so this settles soon after start or stop.
  const running = (async () => {
    for (let delay = 1000; !abort.signal.aborted; delay = Math.min(delay * 2, 10_000)) {
      try {
        await startOnce();
        return;
      } catch (err) {
        if (abort.signal.aborted) return;
        state = 'retrying';
        logger.warn({ err, retryInMs: delay }, 'timeline: cannot read change events yet; the API serves meanwhile');
        await consumer?.disconnect().catch(() => undefined);
        consumer = undefined;
        await sleep(delay, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    }
  })();

  return {
    state: () => state,
    topics,
    async stop() {
      abort.abort();
      // A connect kafkajs is still retrying (Kafka down) must not hold up the shutdown.
      await Promise.race([running, sleep(STOP_WAIT_MS)]);
      await consumer?.disconnect();
      state = 'stopped';
    },
  };
}

/**
 * The envelope of a message value, or null for what the timeline ignores (tombstones). Accepts
 * Debezium's {schema, payload} wrapper like evictd does. Only the fields the timeline reads are checked.
 */
export function decodeChangeEvent(value: Buffer | null): ChangeEvent | null {
  if (value === null || value.length === 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  const envelope = (isObject(parsed) && 'payload' in parsed && 'schema' in parsed ? parsed.payload : parsed) as Partial<ChangeEvent> | null;
  if (!isObject(envelope) || !isObject(envelope.source) || typeof envelope.source.ts_ms !== 'number' || typeof envelope.source.table !== 'string') return null;
  try {
    parseOp(envelope.op);
  } catch {
    return null;
  }
  return { before: null, after: null, ...envelope } as ChangeEvent;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
