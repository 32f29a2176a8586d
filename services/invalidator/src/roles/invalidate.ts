/**
 * `evictd invalidate`: consume change events, map them through the rules, apply them to every
 * target (Redis, Memcached, HTTP caches), and only then commit. Each target is its own consumer
 * group over the same topics, committing after its own cache confirmed, so a slow or failing
 * target holds only its own offsets. Wiring only: decoding (bus/decode-event), mapping (rules/),
 * applying (targets/) and offset handling (bus/consumer) each live in their own module.
 */
import { Partitioners, type KafkaMessage, type Producer } from 'kafkajs';
import { OP } from '@evictd/schemas';
import type { EvictdConfig } from '../config/index.js';
import { describeError } from '../errors.js';
import { retry } from '../retry.js';
import { startConsumer, type ChunkContext, type RunningConsumer } from '../bus/consumer.js';
import { sendDeadLetters, type DeadLetter } from '../bus/dead-letter.js';
import { ColumnTypes } from '../bus/column-types.js';
import { decodeEvent } from '../bus/decode-event.js';
import { KAFKA_STARTUP_BACKOFF, createKafka, isKafkaRetriable } from '../bus/kafka.js';
import { ensureTopics } from '../bus/topics.js';
import { compileRules, inspectRulesAgainstDatabase, problemsError, resolveChange, type Invalidation, type Rules } from '../rules/index.js';
import { isEmpty, mergeInvalidations } from '../redis/batch.js';
import { createInvalidatorMetrics, createTarget, type InvalidatorMetrics, type Target, type TargetOutage } from '../targets/index.js';
import { createUpstreamGate, isLastingOffsetError, kafkaCommittedOffsets, type UpstreamGate } from '../targets/order/index.js';
import type { Catalog } from '../rules/catalog.js';
import type { Logger } from '../observability/log.js';
import type { Role, RoleContext } from './role.js';

/** How often a still-unresolvable template or a still-failing target is logged again. */
const REPEAT_LOG_MS = 30_000;

/** A chunk waiting this long for the target it follows (`after`) shows in /healthz and the log. */
const LONG_WAIT_MS = 5_000;

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

/** What one target's consumer needs; the rules, the column types and the producer are shared. */
interface Pipeline {
  rules: Rules;
  target: Target;
  /** Dead letters are sent by the first target only, so a malformed message lands there once. */
  deadLetters: { producer: Producer; topic: string } | null;
  metrics: InvalidatorMetrics;
  logger: Logger;
  /** Applying keeps failing (logged every REPEAT_LOG_MS, cleared once the target confirmed). */
  failing: (TargetOutage & { loggedAt: number }) | null;
  unresolvedLoggedAt: Map<string, number>;
  columnTypes: ColumnTypes;
  /** The target this one follows (`after`): its consumer group, waited for through the gate; null: no ordering. */
  after: { target: string; groupId: string; gate: UpstreamGate } | null;
  /** Some target of this process follows this one: what it applied frees those waiting at once. */
  followed: { groupId: string; gate: UpstreamGate } | null;
  /** Chunks waiting for `after`, by topic:partition, with the time they began to. */
  waiting: Map<string, number>;
  waitLoggedAt: number;
}

/** One chunk of one partition for one target: decode, map, dead-letter the malformed, apply, record lag. */
async function handleChunk(p: Pipeline, messages: readonly KafkaMessage[], ctx: ChunkContext): Promise<void> {
  const target = p.target.name;
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
      p.metrics.events.inc({ table: event.table, op: event.op, outcome: 'no_rule', target });
      continue;
    }
    const invalidation = resolveChange(rule, event);
    const filtered = isEmpty(invalidation);
    p.metrics.events.inc({ table: event.table, op: event.op, outcome: filtered ? 'filtered' : 'invalidated', target });
    if (filtered) continue;
    invalidations.push(invalidation);
    if (event.commitTsMs !== null) commitTimes.push(event.commitTsMs);
    if (event.op === OP.TRUNCATE) {
      const cause = event.flush ? 'flush' : 'truncate';
      p.metrics.shapeFlushes.inc({ table: rule.table, cause, target }, invalidation.keyShapes.length + invalidation.tagShapes.length);
      p.logger.warn({ table: rule.table, cause, keyShapes: invalidation.keyShapes, tagShapes: invalidation.tagShapes }, `${cause}: invalidating everything the rules of ${rule.table} can produce`);
    } else if (invalidation.unresolved.length > 0) {
      p.metrics.shapeFlushes.inc({ table: rule.table, cause: 'unresolved', target }, invalidation.unresolved.length);
      logUnresolved(p, invalidation.unresolved);
    }
  }
  if (deadLetters.length > 0 && p.deadLetters) {
    await sendDeadLetters(p.deadLetters.producer, p.deadLetters.topic, deadLetters);
    p.metrics.deadLetters.inc({ topic: ctx.topic }, deadLetters.length);
    for (const d of deadLetters) p.logger.warn({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason, deadLetterTopic: p.deadLetters.topic }, 'malformed message sent to the dead-letter topic');
  }
  const batch = mergeInvalidations(invalidations);
  const next = BigInt(messages[messages.length - 1]?.offset ?? '-1') + 1n;
  if (!isEmpty(batch)) {
    // The tier behind this one (Redis behind an HTTP cache) confirms the same changes first.
    if (p.after) await waitForUpstream(p, p.after, next, ctx);
    const labels = { target, type: p.target.type };
    const outcome = await p.target.apply(batch, {
      signal: ctx.signal,
      onRetry: (err) => {
        p.metrics.retries.inc(labels);
        p.metrics.up.set(labels, 0);
        const now = Date.now();
        p.failing ??= { since: now, error: describeError(err), loggedAt: 0 };
        if (now - p.failing.loggedAt >= REPEAT_LOG_MS) {
          p.failing.loggedAt = now;
          p.logger.warn({ err, downForMs: now - p.failing.since }, `${p.target.type} target ${target} failed; retrying, nothing is committed until it succeeds`);
        }
        void ctx.heartbeat();
      },
      onProgress: () => void ctx.heartbeat(),
    });
    if (p.failing) {
      p.logger.info({ downForMs: Date.now() - p.failing.since }, `${p.target.type} target ${target} is back; invalidations confirmed`);
      p.failing = null;
    }
    p.metrics.up.set(labels, 1);
    p.metrics.items.inc(labels, outcome.items);
    p.metrics.requests.inc(labels, outcome.requests);
  }
  const now = Date.now();
  for (const ts of commitTimes) p.metrics.lag.observe({ target }, Math.max(0, now - ts) / 1000);
  // Everything below `next` is confirmed by this target's cache (committing only makes it durable).
  p.followed?.gate.applied({ groupId: p.followed.groupId, topic: ctx.topic, partition: ctx.partition }, next);
}

/**
 * Waits until the target `p` follows has confirmed every offset below `next` of this partition,
 * heartbeating meanwhile; rejects (the chunk stays uncommitted) when the chunk is given up.
 */
async function waitForUpstream(p: Pipeline, after: NonNullable<Pipeline['after']>, next: bigint, ctx: ChunkContext): Promise<void> {
  const target = p.target.name;
  const key = `${ctx.topic}:${ctx.partition}`;
  const since = Date.now();
  p.waiting.set(key, since);
  try {
    await after.gate.wait({ groupId: after.groupId, topic: ctx.topic, partition: ctx.partition }, next, {
      signal: ctx.signal,
      onPoll: () => {
        void ctx.heartbeat();
        const now = Date.now();
        p.metrics.waiting.set({ target }, (now - (oldestWait(p) ?? now)) / 1000);
        if (now - since >= LONG_WAIT_MS && now - p.waitLoggedAt >= REPEAT_LOG_MS) {
          p.waitLoggedAt = now;
          p.logger.warn({ after: after.target, topic: ctx.topic, partition: ctx.partition, offset: String(next - 1n), waitingForMs: now - since }, `target ${target} waits for target ${after.target} to confirm the same changes (its group ${after.groupId} has not committed past them); nothing is applied or committed here meanwhile`);
        }
      },
    });
  } finally {
    p.waiting.delete(key);
    if (p.waiting.size === 0) p.metrics.waiting.set({ target }, 0);
  }
  p.metrics.wait.observe({ target }, (Date.now() - since) / 1000);
}

function oldestWait(p: Pipeline): number | null {
  return p.waiting.size === 0 ? null : Math.min(...p.waiting.values());
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
  const metrics = createInvalidatorMetrics(registry);
  const kafka = createKafka(config.kafka, logger);
  // Dead letters: the explicit partitioner also silences kafkajs' partitioner-change warning.
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const targets: { target: Target; groupId: string; logger: Logger }[] = [];
  const consumers: RunningConsumer[] = [];
  const pipelines: Pipeline[] = [];
  // One poller of committed offsets for every target with `after`, polling only while one waits.
  const gate = Object.values(config.targets).some((t) => t.after !== null)
    ? createUpstreamGate({ offsets: kafkaCommittedOffsets(kafka), logger: logger.child({ component: 'after' }), isRetriable: (err) => !isLastingOffsetError(err) })
    : null;
  const cleanup = async () => {
    await Promise.all(targets.map(({ target }) => target.stop().catch((err: unknown) => logger.warn({ err, target: target.name }, 'target stop failed'))));
    await gate?.stop();
    await producer.disconnect().catch(() => undefined);
  };
  // Kafka not reachable yet (containers start in any order): wait for it, like the publisher does.
  const startup = {
    signal,
    ...KAFKA_STARTUP_BACKOFF,
    shouldRetry: isKafkaRetriable,
    onRetry: (err: unknown, attempt: number, delayMs: number) => {
      ctx.startup?.retrying(err, attempt);
      logger.warn({ err: describeError(err), attempt, delayMs }, 'start-up: Kafka not ready, retrying');
    },
  };
  try {
    for (const [name, settings] of Object.entries(config.targets)) {
      const targetLogger = logger.child({ target: name });
      targets.push({ target: await createTarget(name, settings, { config, logger: targetLogger, registry, signal }), groupId: settings.groupId, logger: targetLogger });
    }
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
    for (const { target, groupId, logger: targetLogger } of targets) {
      const after = config.targets[target.name]?.after ?? null;
      const followed = Object.values(config.targets).some((t) => t.after === target.name);
      const pipeline: Pipeline = {
        rules, target, metrics, columnTypes,
        deadLetters: pipelines.length === 0 ? { producer, topic: config.invalidate.deadLetterTopic } : null,
        logger: targetLogger,
        failing: null,
        unresolvedLoggedAt: new Map(),
        after: gate && after !== null ? { target: after, groupId: config.targets[after]!.groupId, gate } : null,
        followed: gate && followed ? { groupId, gate } : null,
        waiting: new Map(),
        waitLoggedAt: 0,
      };
      if (pipeline.after) metrics.waiting.set({ target: target.name }, 0);
      pipelines.push(pipeline);
      consumers.push(await retry(() => startConsumer({
        kafka,
        groupId,
        topics: config.invalidate.topics,
        maxWaitTimeMs: config.invalidate.maxWaitTimeMs,
        sessionTimeoutMs: config.invalidate.sessionTimeoutMs,
        logger: targetLogger,
        handle: (messages, chunkCtx) => handleChunk(pipeline, messages, chunkCtx),
        onLag: (topic, partition, lag) => metrics.consumerLag.set({ target: target.name, topic, partition: String(partition) }, lag),
        partitionsConsumedConcurrently: Math.min(4, config.kafka.partitions),
      }), startup));
    }
  } catch (err) {
    await Promise.all(consumers.map((c) => c.stop()));
    await cleanup();
    throw err;
  }
  // One target's consumer failing for good ends the role (and the process, which a supervisor restarts).
  const done = Promise.all(consumers.map((c) => c.done.catch(async (err: unknown) => {
    await Promise.all(consumers.map((other) => other.stop()));
    throw err;
  }))).then(() => undefined).finally(cleanup);
  const stop = async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await done.catch(() => undefined);
  };
  signal.addEventListener('abort', () => void stop(), { once: true });
  return {
    name: 'invalidate',
    done,
    stop,
    health: () => {
      const perTarget: Record<string, unknown> = {};
      let ok = true;
      const now = Date.now();
      pipelines.forEach((p, i) => {
        const c = consumers[i]!.health();
        const down = p.target.down() ?? p.failing;
        // Waiting for the target it follows is not a fault of this one: that target's own health says why.
        ok &&= c.ok && down === null;
        const oldest = oldestWait(p);
        perTarget[p.target.name] = {
          type: p.target.type,
          ...c.detail,
          ...p.target.detail(),
          down: down ? { sinceMs: now - down.since, error: down.error } : false,
          after: p.after?.target ?? null,
          waitingFor: p.after && oldest !== null && now - oldest >= LONG_WAIT_MS ? { target: p.after.target, sinceMs: now - oldest } : false,
        };
      });
      return { ok, detail: { rules: rules.tables.size, targets: perTarget } };
    },
  };
}
