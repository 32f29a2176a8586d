/**
 * The gate of `after`: a downstream target's chunk waits here until the upstream target's consumer
 * group has confirmed the same offsets. One gate per process, shared by every waiting chunk of
 * every target: it polls only while some chunk waits, and each poll is one offset fetch per
 * upstream group for all waiting partitions together. An upstream consumer in the same process
 * reports what it applied (`applied`), which frees its waiters without waiting for the next poll.
 */
import type { Logger } from '../../observability/log.js';
import { EvictdError, describeError } from '../../errors.js';
import { backoffDelay } from '../../retry.js';
import { WaitBook, type UpstreamPosition, type Waiter } from './book.js';

/** One partition's committed offset: the next offset the group will consume there. */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/** Where consumer groups stand (kafka-offsets.ts; an in-memory one in unit tests). */
export interface CommittedOffsets {
  /** The group's committed offsets on these topics; partitions it never committed are left out. */
  fetch(groupId: string, topics: readonly string[]): Promise<CommittedOffset[]>;
  close(): Promise<void>;
}

export interface WaitOptions {
  /** Aborted when the chunk is given up (stop, rebalance): the wait rejects with its reason. */
  readonly signal: AbortSignal;
  /** Called after each poll while still waiting (heartbeats, long-wait logging). */
  onPoll(): void;
}

export interface UpstreamGate {
  /** Resolves once the upstream group's next offset on the partition is at least `next`. */
  wait(position: UpstreamPosition, next: bigint, options: WaitOptions): Promise<void>;
  /** The upstream consumer of this process applied (its cache confirmed) every offset below `next`. */
  applied(position: UpstreamPosition, next: bigint): void;
  /** Stops polling and closes the offset source; chunks still waiting are rejected. */
  stop(): Promise<void>;
}

export interface GateOptions {
  readonly offsets: CommittedOffsets;
  readonly logger: Logger;
  /** Between polls while chunks wait. */
  readonly intervalMs?: number;
  /** Longest pause between polls while fetching fails. */
  readonly maxBackoffMs?: number;
  /**
   * Whether a failed fetch may succeed later (Kafka away); otherwise (no ACL for the upstream's
   * group, say) every waiting chunk is rejected, which stops its consumer loudly. Default: always.
   */
  readonly isRetriable?: (err: unknown) => boolean;
}

/** How often a fetch that keeps failing is logged again. */
const REPEAT_LOG_MS = 30_000;

interface Pending extends Waiter {
  resolve(): void;
  reject(err: unknown): void;
  onPoll(): void;
}

export function createUpstreamGate({ offsets, logger, intervalMs = 25, maxBackoffMs = 1_000, isRetriable = () => true }: GateOptions): UpstreamGate {
  const book = new WaitBook<Pending>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let stopped = false;
  let failures = 0;
  let failureLoggedAt = 0;

  const free = (waiters: readonly Pending[]) => {
    for (const w of waiters) w.resolve();
  };

  function rejectAll(err: unknown): void {
    for (const w of [...book.waiters()]) {
      book.remove(w);
      w.reject(err);
    }
  }

  function schedule(delayMs: number): void {
    if (timer !== undefined || polling || stopped || book.size === 0) return;
    timer = setTimeout(() => void poll(), delayMs);
  }

  async function poll(): Promise<void> {
    timer = undefined;
    polling = true;
    try {
      await Promise.all([...book.wanted()].map(async ([groupId, topics]) => {
        for (const o of await offsets.fetch(groupId, topics)) free(book.advance({ groupId, topic: o.topic, partition: o.partition }, o.offset));
      }));
      failures = 0;
    } catch (err) {
      if (!isRetriable(err)) {
        rejectAll(new EvictdError('TARGET_ORDER_OFFSETS', `cannot read the committed offsets of the targets waited for (after): ${describeError(err)}. The downstream target cannot know what its upstream confirmed: check that evictd may describe the upstream's consumer group (Kafka ACL)`, { cause: err }));
      }
      failures += 1;
      const now = Date.now();
      if (now - failureLoggedAt >= REPEAT_LOG_MS) {
        failureLoggedAt = now;
        logger.warn({ err, failures }, `cannot read the committed offsets of the targets waited for (${describeError(err)}); waiting chunks stay unapplied, retrying`);
      }
    } finally {
      polling = false;
    }
    for (const w of book.waiters()) w.onPoll();
    schedule(failures === 0 ? intervalMs : backoffDelay(failures, intervalMs, maxBackoffMs));
  }

  return {
    wait(position, next, { signal, onPoll }) {
      return new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        if (stopped) return reject(new Error('the ordering gate is stopped'));
        const onAbort = () => {
          book.remove(pending);
          reject(signal.reason);
        };
        const pending: Pending = {
          ...position,
          next,
          onPoll,
          resolve: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (err) => {
            signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        };
        if (book.add(pending)) return resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        // The first waiter starts the poller at once: the chunks of one fetch join the same poll.
        schedule(0);
      });
    },
    applied(position, next) {
      free(book.advance(position, next));
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      rejectAll(new Error('the ordering gate is stopped'));
      await offsets.close();
    },
  };
}
