/**
 * "Change event seen": the demo API's own Kafka consumer on evictd's change topics, independent of
 * evictd's invalidator (own consumer group, starting at the end of each topic).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel as kafkaLogLevel, type Consumer, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { parseOp, type ChangeEvent } from '@evictd/schemas';

export type FeedState = 'waiting-for-topics' | 'joining' | 'ready' | 'stopped' | 'failed';

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

export function startChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { logger } = options;
  const topics = TABLES.map((t) => `${options.topicPrefix}.${t}`);
  const kafka = new Kafka({
    clientId: 'evictd-demo-api',
    brokers: [...options.brokers],
    logLevel: kafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logger.warn({ kafka: entry.log }, entry.log.message),
  });
  // Its own group, so it sees every event whatever evictd's invalidator does.
  const consumer: Consumer = kafka.consumer({ groupId: `evictd-demo-timeline-${randomUUID()}`, maxWaitTimeInMs: 20 });
  const abort = new AbortController();
  let state: FeedState = 'waiting-for-topics';

  // Offsets of a new group start at the end; the first completed fetch means they are resolved,
  // so from then on no change is missed.
  consumer.on(consumer.events.FETCH, () => {
    if (state === 'joining') {
      state = 'ready';
      logger.info({ topics }, 'timeline: reading change events');
    }
  });

  const run = async () => {
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
    await consumer.connect();
    abort.signal.throwIfAborted();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const receivedAt = Date.now();
        const event = decodeChangeEvent(message.value);
        if (event) options.onEvent(event, receivedAt);
      },
    });
  };

  // consumer.run() returns once the consumer is running, so this settles soon after start or stop.
  const running = run().catch((err: unknown) => {
    if (abort.signal.aborted) return;
    state = 'failed';
    logger.error({ err }, 'timeline: cannot read change events; the API keeps serving without the "seen" step');
  });

  return {
    state: () => state,
    topics,
    async stop() {
      abort.abort();
      state = 'stopped';
      await running;
      await consumer.disconnect();
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
