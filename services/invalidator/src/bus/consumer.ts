/**
 * The invalidator's Kafka consumer. Offsets are resolved and committed by hand: a chunk of a
 * batch is committed only after its handler resolved, i.e. after Redis confirmed every deletion
 * of every message below the committed offset. Nothing is committed past a failure, so a crash or
 * rebalance at any point means redelivery (duplicates are harmless: deletions are idempotent),
 * never loss. Every finished chunk's commit is sent at once (in offset order per partition), so a
 * rebalance finds what is done committed or on its way. A commit that fails while the partition is
 * still this member's (a restarted broker not yet in kafkajs' metadata, its coordinator loading) is
 * retried: kafkajs fetches on from what was applied, so with no later message nothing else would
 * ever commit it, and the group would show lag for finished work (seen in CI's fault run).
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { backoffDelay, retry } from '../retry.js';
import { KAFKA_RETRY, fromKafkaError } from './kafka.js';

/** How long a batch may hold the fetch loop before it is applied beside it (see eachBatch). */
const HANDOFF_MS = 100;

/** Longest time between two heartbeats. */
const HEARTBEAT_MAX_MS = 1_000;

/**
 * The fetch loop's retries while Kafka is away: twice a second (KAFKA_RETRY's waits) and for
 * minutes before kafkajs crashes the consumer. A crash is what made recovery slow: kafkajs waited
 * its last backoff (up to 30 s by default) before starting it again, and the restarted consumer
 * joins as a new member, so the group waits for the old member's session to expire before anyone
 * consumes. Retrying in place keeps the member, and consumption resumes with the first fetch
 * after the broker is back.
 */
const CONSUMER_RETRY = { ...KAFKA_RETRY, retries: 300 };

/** Backoff of a failed offset commit's retries. */
const COMMIT_RETRY = { minDelayMs: 100, maxDelayMs: 2_000 } as const;

/** A commit given up because the partition is no longer this member's. */
class PartitionReassigned extends Error {}

/** Waits before starting a crashed consumer again (doubling): short, the broker is usually back within seconds. */
const CRASH_RESTART_BACKOFF = { minDelayMs: 250, maxDelayMs: 2_000 } as const;

/** kafkajs protocol error types that mean this member must rejoin the group. */
const REBALANCING = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP', 'NOT_COORDINATOR']);

/**
 * Who starts the consumer again after kafkajs crashed it. kafkajs restarts it after errors it
 * marks retriable, but treats some errors of a broker that is still coming back as final ("Failed
 * to find group coordinator" while it loads its offsets, no broker available): a broker restart
 * then ended the invalidator (exit 1, seen in the fault run). Those are restarted here; only what
 * Kafka will always refuse (credentials, authorization, invalid or too large requests) is fatal.
 */
export function crashRecovery(err: unknown, kafkajsRestarts: boolean): 'kafkajs' | 'evictd' | 'fatal' {
  if (kafkajsRestarts) return 'kafkajs';
  return fromKafkaError(err, 'consuming').retriable ? 'evictd' : 'fatal';
}

export interface ChunkContext {
  readonly topic: string;
  readonly partition: number;
  /** Aborted when the consumer stops or the partition was taken away: give up, commit nothing. */
  readonly signal: AbortSignal;
  /** Keeps the group membership alive during long waits (Redis down). Never throws. */
  heartbeat(): Promise<void>;
}

/** Handles messages of one partition in offset order; resolves once their effects are durable. */
export type ChunkHandler = (messages: readonly KafkaMessage[], ctx: ChunkContext) => Promise<void>;

export interface ConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Broker-side wait for data when idle; low (tens of ms) keeps idle latency low. */
  readonly maxWaitTimeMs: number;
  /** How long a member that died without leaving holds its partitions. */
  readonly sessionTimeoutMs: number;
  readonly logger: Logger;
  readonly handle: ChunkHandler;
  /** Messages after the committed offset of a partition, reported after each commit. */
  readonly onLag?: (topic: string, partition: number, lag: number) => void;
  /** Most messages handled (and committed) at once. */
  readonly maxChunk?: number;
  readonly partitionsConsumedConcurrently?: number;
}

/**
 * The consumer's memory bound. kafkajs decodes a fetch response into messages whose keys and values
 * are views into the response buffer, so a response stays alive while any of its messages is being
 * applied, and a batch applied outside the fetch loop (see eachBatch) can hold one response per
 * partition. kafkajs' defaults (10 MiB a fetch, 1 MiB a partition) let that reach tens of MiB of
 * buffers plus their decoded events; 2 MiB and 512 KiB still carry thousands of change events
 * (a few hundred bytes each) per fetch, more than one chunk needs. Kafka returns a record batch
 * larger than these limits whole, so a big message is never stuck.
 */
export const FETCH_MAX_BYTES = 2 * 2 ** 20;
export const FETCH_MAX_BYTES_PER_PARTITION = 512 * 2 ** 10;

export interface RunningConsumer {
  /** Resolves after a clean stop; rejects when a handler failed for good. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
  health(): { ok: boolean; detail: Record<string, unknown> };
}

export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, topics, logger, handle, onLag, maxChunk = 2_000 } = options;
  const consumer: Consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: options.maxWaitTimeMs,
    minBytes: 1,
    maxBytes: FETCH_MAX_BYTES,
    maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
    sessionTimeout: options.sessionTimeoutMs,
    // Kafka's rule of thumb is a heartbeat every third of the session; at most a second here, so
    // a live member learns of a rebalance (a dead peer's partitions to take over) within a second.
    heartbeatInterval: Math.max(250, Math.min(HEARTBEAT_MAX_MS, Math.floor(options.sessionTimeoutMs / 5))),
    retry: CONSUMER_RETRY,
  });
  const stopController = new AbortController();
  let joined = false;
  let lastCommitAt: number | null = null;
  /** The latest commit of each partition (`topic:partition`), each chained after the one before. */
  const commits = new Map<string, Promise<void>>();
  let fatal: unknown;
  let stopping: Promise<void> | undefined;
  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));

  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  /** This member's partitions (`topic:partition`) since its last join; only their failed commits are retried. */
  let assigned = new Set<string>();
  /** Counts crashes: a batch payload from before one belongs to a consumer group kafkajs replaced. */
  let incarnation = 0;
  /** The highest offset each partition's commit chain was asked for (a failed commit below it gives way). */
  const wanted = new Map<string, bigint>();

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joined = true;
    restarts = 0;
    assigned = new Set(Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => `${topic}:${partition}`)));
    logger.info({ groupId, memberAssignment: e.payload.memberAssignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    joined = false;
    assigned = new Set();
    incarnation += 1;
    const err = e.payload.error;
    const next = crashRecovery(err, e.payload.restart);
    if (next === 'fatal') {
      logger.error({ err }, `consumer crashed: ${describeError(err)}`);
      fatal ??= err;
      void stop();
    } else if (next === 'kafkajs') {
      logger.warn({ err }, `consumer crashed, kafkajs starts it again: ${describeError(err)}`);
    } else {
      restartLater(err);
    }
  });

  /** Runs the consumer again after a crash kafkajs gave up on (it has disconnected it by then). */
  function restartLater(err: unknown): void {
    if (stopController.signal.aborted) return;
    restarts += 1;
    const delayMs = backoffDelay(restarts, CRASH_RESTART_BACKOFF.minDelayMs, CRASH_RESTART_BACKOFF.maxDelayMs);
    logger.warn({ err, attempt: restarts, delayMs }, `consumer crashed and kafkajs gave up on it; starting it again in ${delayMs} ms: ${describeError(err)}`);
    restartTimer = setTimeout(() => {
      if (stopController.signal.aborted) return;
      // A failed join crashes (and comes back here) through the CRASH event; a failed connect throws.
      consumer.connect().then(() => consumer.run(runConfig)).catch((e: unknown) => restartLater(e));
    }, delayMs);
  }

  /** Batches still being applied after their eachBatch returned (their partitions paused). */
  const offLoop = new Set<Promise<void>>();

  /**
   * kafkajs fetches again only once every batch of the last fetch was handled, so one slow batch
   * (a big tag, the opt-in scan) would hold every other partition. A batch that is not done within
   * HANDOFF_MS goes on outside the fetch loop instead, with its partition paused (its order kept),
   * and resumes the partition when it is done. Invalidations commute, so nothing else changes.
   */
  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    let done = false;
    const work = applyBatch(payload).finally(() => {
      done = true;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, HANDOFF_MS)))]);
    clearTimeout(timer);
    if (done) return;
    const resume = payload.pause();
    const task: Promise<void> = work
      .catch((err: unknown) => {
        // Handler failures are dealt with inside; this is a bug: stop as a crash would.
        fatal ??= err;
        void stop();
      })
      .finally(() => {
        offLoop.delete(task);
        if (!stopController.signal.aborted) resume();
      });
    offLoop.add(task);
  }

  async function applyBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    for (let i = 0; i < batch.messages.length; i += maxChunk) {
      if (!isRunning() || isStale() || fatal !== undefined) return;
      const chunk = batch.messages.slice(i, i + maxChunk);
      const last = chunk[chunk.length - 1];
      if (!last) return;
      const chunkController = new AbortController();
      const abortChunk = () => chunkController.abort();
      stopController.signal.addEventListener('abort', abortChunk, { once: true });
      const heartbeat = async () => {
        try {
          await payload.heartbeat();
        } catch (err) {
          logger.debug({ err }, 'heartbeat failed');
          // The group is rebalancing: give the chunk up (uncommitted) so this member can rejoin in time.
          if (REBALANCING.has((err as { type?: string }).type ?? '')) chunkController.abort();
        }
        if (isStale()) chunkController.abort();
      };
      try {
        await handle(chunk, { topic, partition, signal: chunkController.signal, heartbeat });
      } catch (err) {
        if (chunkController.signal.aborted) {
          logger.info({ topic, partition, offset: chunk[0]?.offset }, 'left a batch unfinished and uncommitted (stopping or rebalancing)');
        } else {
          fatal ??= err;
          logger.error({ err, topic, partition, offset: chunk[0]?.offset }, `cannot apply a batch, stopping without committing it: ${describeError(err)}`);
          setImmediate(() => void stop());
        }
        return;
      } finally {
        stopController.signal.removeEventListener('abort', abortChunk);
      }
      resolveOffset(last.offset);
      const next = (BigInt(last.offset) + 1n).toString();
      const lag = Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next)));
      // In the background, chained per partition so commits land in offset order: the next fetch
      // need not wait for the broker's commit round trip.
      const key = `${topic}:${partition}`;
      wanted.set(key, BigInt(next));
      const previous = commits.get(key) ?? Promise.resolve();
      commits.set(key, previous.then(() => commit(payload, topic, partition, next, lag)));
    }
    // Stopping: the chunk finished during the SIGTERM is committed before the group is left.
    if (!isRunning()) await commits.get(`${topic}:${partition}`);
  }

  /**
   * Commits through the batch payload: unlike consumer.commitOffsets it still works while the
   * consumer is stopping, so the chunk finished during a SIGTERM is committed too.
   */
  async function commit(payload: EachBatchPayload, topic: string, partition: number, offset: string, lag: number): Promise<void> {
    const key = `${topic}:${partition}`;
    const since = incarnation;
    // No longer this member's: its next owner re-applies from the last commit (idempotent
    // deletions), and committing here could move the offset back under the new owner's commits.
    const ours = () => assigned.has(key) && incarnation === since;
    // A later chunk's commit, queued behind this one, covers this offset too.
    const superseded = () => (wanted.get(key) ?? 0n) > BigInt(offset);
    let attempts = 0;
    let skipped = false;
    try {
      await retry(
        async () => {
          if (!ours()) throw new PartitionReassigned();
          // Skipped, not sent: commits of small chunks can come faster than commit round trips,
          // and each one queued holds its batch (and the fetch buffers under it) until it runs.
          if (superseded()) {
            skipped = true;
            return;
          }
          attempts += 1;
          await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
        },
        {
          ...COMMIT_RETRY,
          // Stopping ends the retries: what is uncommitted is re-applied after the restart, never lost.
          signal: stopController.signal,
          shouldRetry: (err) => !(err instanceof PartitionReassigned) && !superseded(),
          onRetry: (err, attempt) => {
            if (attempt === 1) logger.warn({ err, topic, partition, offset }, `offset commit failed; retrying while the partition is this member's: ${describeError(err)}`);
          },
        },
      );
      if (skipped) return;
      lastCommitAt = Date.now();
      onLag?.(topic, partition, lag);
      if (attempts > 1) logger.info({ topic, partition, offset, attempts }, 'offset commit went through');
    } catch (err) {
      if (err instanceof PartitionReassigned) logger.info({ topic, partition, offset }, 'partition reassigned before its commit: its next owner re-applies from the last committed offset');
      else if (!superseded()) logger.warn({ err, topic, partition, offset }, 'offset commit failed; the work is re-applied from the last committed offset');
    }
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      stopController.abort();
      clearTimeout(restartTimer);
      // Batches applied outside the fetch loop finish and commit their current chunk while still a member.
      await Promise.all(offLoop);
      await Promise.all(commits.values());
      // Waits for the running eachBatch (which finishes and commits its current chunk), then leaves the group.
      await consumer.disconnect().catch((err: unknown) => logger.warn({ err }, 'consumer disconnect failed'));
      await Promise.all(commits.values());
      joined = false;
      if (fatal === undefined) settle.resolve();
      else settle.reject(fatal);
    })();
    return stopping;
  }

  const runConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    eachBatch,
  };
  try {
    await consumer.connect();
    // A new group starts at the beginning: events published before its first start are applied too.
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run(runConfig);
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    throw err;
  }
  logger.info({ groupId, topics }, 'consuming');

  return {
    done,
    stop,
    health: () => ({ ok: joined && fatal === undefined, detail: { groupId, joined, lastCommitAt, topics: topics.length } }),
  };
}
