/**
 * The invalidator's Kafka consumer. Offsets are resolved and committed by hand: a chunk of a
 * batch is committed only after its handler resolved, i.e. after Redis confirmed every deletion
 * of every message below the committed offset. Nothing is committed past a failure, so a crash or
 * rebalance at any point means redelivery (duplicates are harmless: deletions are idempotent),
 * never loss. Every finished chunk's commit is sent at once (in offset order per partition), so a
 * rebalance finds what is done committed or on its way.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';

/** How long a batch may hold the fetch loop before it is applied beside it (see eachBatch). */
const HANDOFF_MS = 100;

/** kafkajs protocol error types that mean this member must rejoin the group. */
const REBALANCING = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP', 'NOT_COORDINATOR']);

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
    sessionTimeout: options.sessionTimeoutMs,
    // Kafka's rule of thumb: a heartbeat every third of the session, here more often.
    heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 5)),
    // Re-joins after a crash are kafkajs' job; our handler never throws for retriable Redis errors.
    retry: { retries: 10 },
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

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joined = true;
    logger.info({ groupId, memberAssignment: e.payload.memberAssignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    joined = false;
    logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    if (!e.payload.restart) {
      fatal ??= e.payload.error;
      void stop();
    }
  });

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
      const previous = commits.get(`${topic}:${partition}`) ?? Promise.resolve();
      commits.set(`${topic}:${partition}`, previous.then(() => commit(payload, topic, partition, next, lag)));
    }
    // Stopping: the chunk finished during the SIGTERM is committed before the group is left.
    if (!isRunning()) await commits.get(`${topic}:${partition}`);
  }

  /**
   * Commits through the batch payload: unlike consumer.commitOffsets it still works while the
   * consumer is stopping, so the chunk finished during a SIGTERM is committed too.
   */
  async function commit(payload: EachBatchPayload, topic: string, partition: number, offset: string, lag: number): Promise<void> {
    try {
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
      lastCommitAt = Date.now();
      onLag?.(topic, partition, lag);
    } catch (err) {
      // Usually a rebalance: whoever owns the partition next re-applies from the last commit
      // (idempotent deletions); otherwise the next commit of this partition covers this one.
      logger.warn({ err, topic, partition, offset }, 'offset commit failed; the work is re-applied from the last committed offset if needed');
    }
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      stopController.abort();
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

  try {
    await consumer.connect();
    // A new group starts at the beginning: events published before its first start are applied too.
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch,
    });
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
