/**
 * `evictd invalidate`: consume change events, map them through the rules, delete in Redis, and
 * only then commit. Wiring only: decoding (bus/decode-event), mapping (rules/), deleting (redis/)
 * and offset handling (bus/consumer) each live in their own module.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { Partitioners, type KafkaMessage, type Producer } from 'kafkajs';
import { createRedisLayout, OP, type RedisLayout } from '@evictd/schemas';
import type { EvictdConfig } from '../config/index.js';
import { describeError } from '../errors.js';
import { retry } from '../retry.js';
import { startConsumer, type ChunkContext } from '../bus/consumer.js';
import { sendDeadLetters, type DeadLetter } from '../bus/dead-letter.js';
import { ColumnTypes } from '../bus/column-types.js';
import { decodeEvent } from '../bus/decode-event.js';
import { createKafka, isKafkaRetriable } from '../bus/kafka.js';
import { ensureTopics } from '../bus/topics.js';
import { compileRules, inspectRulesAgainstDatabase, problemsError, resolveChange, type Invalidation, type Rules } from '../rules/index.js';
import { applyInvalidations, createInvalidatorMetrics, isEmpty, mergeInvalidations, startCleaner, type Cleaner, type InvalidatorMetrics } from '../redis/index.js';
import { startRedisInfoSampler } from '../redis/info.js';
import type { Catalog } from '../rules/catalog.js';
import type { Logger } from '../observability/log.js';
import { watchRedisLink } from '../observability/redis-link.js';
import type { Role, RoleContext } from './role.js';

/** How often a still-unresolvable template or a still-down Redis is logged again. */
const REPEAT_LOG_MS = 30_000;

export function redisClientOptions(redis: EvictdConfig['redis']): RedisOptions {
  return {
    password: redis.password,
    tls: redis.tls,
    // Fail commands fast while Redis is away: the deleter's own backoff decides when to try again.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    connectionName: 'evictd-invalidate',
  };
}

/**
 * A template value the events will lack is an error at start, not a silent miss: the rules are
 * checked against the live catalog (tables, columns, replica identity). When the database cannot
 * be reached, invalidation still starts (a Postgres outage must not stop it); events lacking a
 * value then fall back to their templates' shapes, loudly.
 */
async function checkRulesAtStart(config: EvictdConfig, logger: Logger): Promise<Catalog | null> {
  let inspection;
  try {
    inspection = await inspectRulesAgainstDatabase(config);
  } catch (err) {
    logger.warn({ err }, `cannot check the rules against the database now (${describeError(err)}); starting anyway, run evictd check-config once it is reachable`);
    return null;
  }
  const { problems, warnings, catalog } = inspection;
  if (problems.length > 0) throw problemsError('CONFIG_RULES_DATABASE', `the rules in ${config.file} do not fit the database (evictd check-config lists the same)`, problems);
  for (const w of warnings) logger.warn({ path: w.path }, `${w.path}: ${w.message}`);
  return catalog;
}

interface Pipeline {
  rules: Rules;
  layout: RedisLayout;
  redis: Redis;
  producer: Producer;
  deadLetterTopic: string;
  metrics: InvalidatorMetrics;
  logger: Logger;
  cleaner: Cleaner;
  scanUnregistered: boolean;
  redisDown: { since: number; error: string; loggedAt: number } | null;
  unresolvedLoggedAt: Map<string, number>;
  columnTypes: ColumnTypes;
}

/** One chunk of one partition: decode, map, dead-letter the malformed, delete, record lag. */
async function handleChunk(p: Pipeline, messages: readonly KafkaMessage[], ctx: ChunkContext): Promise<void> {
  const invalidations: Invalidation[] = [];
  const deadLetters: DeadLetter[] = [];
  const commitTimes: number[] = [];
  for (const message of messages) {
    const decoded = decodeEvent(message, { columnTypes: p.columnTypes.lookup });
    if (decoded.kind === 'tombstone') continue;
    if (decoded.kind === 'malformed') {
      deadLetters.push({ topic: ctx.topic, partition: ctx.partition, offset: message.offset, key: message.key, value: message.value, reason: decoded.reason });
      continue;
    }
    const event = decoded.event;
    p.columnTypes.note(event);
    const rule = p.rules.tables.get(event.table);
    if (!rule) {
      p.metrics.events.inc({ table: event.table, op: event.op, outcome: 'no_rule' });
      continue;
    }
    const invalidation = resolveChange(rule, event);
    const filtered = isEmpty(invalidation);
    p.metrics.events.inc({ table: event.table, op: event.op, outcome: filtered ? 'filtered' : 'invalidated' });
    if (filtered) continue;
    invalidations.push(invalidation);
    if (event.commitTsMs !== null) commitTimes.push(event.commitTsMs);
    if (event.op === OP.TRUNCATE) {
      const cause = event.flush ? 'flush' : 'truncate';
      p.metrics.shapeFlushes.inc({ table: rule.table, cause }, invalidation.keyShapes.length + invalidation.tagShapes.length);
      p.logger.warn({ table: rule.table, cause, keyShapes: invalidation.keyShapes, tagShapes: invalidation.tagShapes }, `${cause}: invalidating everything the rules of ${rule.table} can produce`);
    } else if (invalidation.unresolved.length > 0) {
      p.metrics.shapeFlushes.inc({ table: rule.table, cause: 'unresolved' }, invalidation.unresolved.length);
      logUnresolved(p, invalidation.unresolved);
    }
  }
  if (deadLetters.length > 0) {
    await sendDeadLetters(p.producer, p.deadLetterTopic, deadLetters);
    p.metrics.deadLetters.inc({ topic: ctx.topic }, deadLetters.length);
    for (const d of deadLetters) p.logger.warn({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason, deadLetterTopic: p.deadLetterTopic }, 'malformed message sent to the dead-letter topic');
  }
  const batch = mergeInvalidations(invalidations);
  if (!isEmpty(batch)) {
    const result = await applyInvalidations(p.redis, p.layout, batch, {
      signal: ctx.signal,
      scanUnregistered: p.scanUnregistered,
      onRetry: (err) => {
        p.metrics.redisRetries.inc();
        const now = Date.now();
        p.redisDown ??= { since: now, error: describeError(err), loggedAt: 0 };
        if (now - p.redisDown.loggedAt >= REPEAT_LOG_MS) {
          p.redisDown.loggedAt = now;
          p.logger.warn({ err, downForMs: now - p.redisDown.since }, 'Redis deletion failed; retrying, nothing is committed until it succeeds');
        }
        void ctx.heartbeat();
      },
      onProgress: () => void ctx.heartbeat(),
    });
    if (p.redisDown) {
      p.logger.info({ downForMs: Date.now() - p.redisDown.since }, 'Redis is back; deletions confirmed');
      p.redisDown = null;
    }
    if (result.detached > 0) p.cleaner.kick();
    p.metrics.keys.inc(result.keys);
    p.metrics.tags.inc(result.tags);
    p.metrics.tagMembers.inc(result.tagMembers);
    p.metrics.roundTrips.inc(result.roundTrips);
    if (result.roundTrips > 0) p.metrics.itemsPerRoundTrip.observe((result.keys + result.tags) / result.roundTrips);
  }
  const now = Date.now();
  for (const ts of commitTimes) p.metrics.lag.observe(Math.max(0, now - ts) / 1000);
}

function logUnresolved(p: Pipeline, unresolved: readonly string[]): void {
  const now = Date.now();
  for (const what of unresolved) {
    if (now - (p.unresolvedLoggedAt.get(what) ?? 0) < REPEAT_LOG_MS) continue;
    p.unresolvedLoggedAt.set(what, now);
    p.logger.warn({ what }, `${what}: invalidating everything the template can produce instead (run evictd check-config; REPLICA IDENTITY FULL sends old values)`);
  }
}

export async function start(ctx: RoleContext): Promise<Role> {
  const { config, logger, registry, signal } = ctx;
  const rules = compileRules(config.tables, config.file);
  const columnTypes = new ColumnTypes(async () => (await inspectRulesAgainstDatabase(config)).catalog, logger);
  columnTypes.set(await checkRulesAtStart(config, logger));
  const layout = createRedisLayout({ keyPrefix: config.redis.keyPrefix, markerTtlMs: config.invalidate.markerTtlMs });
  const metrics = createInvalidatorMetrics(registry);
  const redis = new Redis(config.redis.url, redisClientOptions(config.redis));
  const redisLink = watchRedisLink(redis, logger, REPEAT_LOG_MS);
  const kafka = createKafka(config.kafka, logger);
  // Dead letters: the explicit partitioner also silences kafkajs' partitioner-change warning.
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  // Finishes table-wide invalidations in the background, including any a crashed peer left.
  const cleaner = startCleaner({ redis, layout, logger, metrics });
  // Redis INFO figures on a timer of their own (never in handleChunk); a failed sample only counts.
  const info = startRedisInfoSampler({ redis, registry });
  const cleanup = async () => {
    await info.stop();
    await cleaner.stop();
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
  };

  const pipeline: Pipeline = {
    rules, layout, redis, producer, metrics, cleaner,
    scanUnregistered: config.invalidate.scanUnregistered,
    deadLetterTopic: config.invalidate.deadLetterTopic,
    logger,
    redisDown: null,
    unresolvedLoggedAt: new Map(),
    columnTypes,
  };
  // Kafka not reachable yet (containers start in any order): wait for it, like the publisher does.
  const startup = {
    signal,
    minDelayMs: 500,
    maxDelayMs: 15_000,
    shouldRetry: isKafkaRetriable,
    onRetry: (err: unknown, attempt: number, delayMs: number) => {
      ctx.startup?.retrying(err, attempt);
      logger.warn({ err: describeError(err), attempt, delayMs }, 'start-up: Kafka not ready, retrying');
    },
  };
  let consumer;
  try {
    await retry(async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        // The change topics and the dead-letter topic, with evictd's partitions if they are missing.
        await ensureTopics(admin, [...config.invalidate.topics, config.invalidate.deadLetterTopic], config.kafka);
      } finally {
        await admin.disconnect();
      }
      await producer.connect();
    }, startup);
    consumer = await retry(() => startConsumer({
      kafka,
      groupId: config.invalidate.groupId,
      topics: config.invalidate.topics,
      maxWaitTimeMs: config.invalidate.maxWaitTimeMs,
      sessionTimeoutMs: config.invalidate.sessionTimeoutMs,
      logger,
      handle: (messages, chunkCtx) => handleChunk(pipeline, messages, chunkCtx),
      onLag: (topic, partition, lag) => metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      partitionsConsumedConcurrently: Math.min(4, config.kafka.partitions),
    }), startup);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const running = consumer;
  const done = running.done.finally(cleanup);
  const stop = async () => {
    await running.stop();
    await done.catch(() => undefined);
  };
  signal.addEventListener('abort', () => void stop(), { once: true });
  return {
    name: 'invalidate',
    done,
    stop,
    health: () => {
      const c = running.health();
      // The connection's state, or a deletion that keeps failing on a connection that looks up.
      const redisDown = redisLink.down() ?? pipeline.redisDown;
      return {
        ok: c.ok && redisDown === null,
        detail: { ...c.detail, rules: rules.tables.size, cleanupPendingKeys: cleaner.pendingKeys(), redis: redisDown ? { down: true, sinceMs: Date.now() - redisDown.since, error: redisDown.error } : { down: false } },
      };
    },
  };
}
