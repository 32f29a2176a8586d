/**
 * The cleaner: deletes the cached keys that table-wide invalidations detached (flushShapes), a
 * bounded slice per Redis script, in the background. The fence (the shape markers) was written
 * before; this only removes values that no fill can bring back. Its work lives in Redis (the
 * layout's cleanup index), so it resumes after a crash, and every invalidator of a group may
 * drain the same set at once (drain.lua pops atomically). It never blocks any partition.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { drainCleanup, pendingCleanups } from '@evictd/cache';
import type { RedisLayout } from '@evictd/schemas';
import { describeError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { RedisTargetMetrics } from './metrics.js';

export interface CleanerOptions {
  redis: Redis;
  layout: RedisLayout;
  logger: Logger;
  metrics: RedisTargetMetrics;
  /** Keys deleted per script: small keeps Redis responsive for everything else. */
  sliceKeys?: number;
  /** How often the index is looked at without a kick: picks up what a crashed peer left. */
  sweepMs?: number;
}

export interface Cleaner {
  /** A flush detached keys: drain now. */
  kick(): void;
  /** Keys left in the cleanup set being drained (0 when idle). */
  pendingKeys(): number;
  stop(): Promise<void>;
}

const DEFAULT_CLEANUP_SLICE_KEYS = 1_000;
const DEFAULT_SWEEP_MS = 5_000;
const MAX_BACKOFF_MS = 2_000;

export function startCleaner(options: CleanerOptions): Cleaner {
  const { redis, layout, logger, metrics } = options;
  const sliceKeys = options.sliceKeys ?? DEFAULT_CLEANUP_SLICE_KEYS;
  const sweepMs = options.sweepMs ?? DEFAULT_SWEEP_MS;
  const stopController = new AbortController();
  let wake = new AbortController();
  let kicked = false;
  let pending = 0;
  let failingSince: number | null = null;
  const setPending = (keys: number) => {
    pending = keys;
    metrics.cleanupPending.set(keys);
  };

  async function pass(): Promise<void> {
    const sets = await pendingCleanups(redis, layout);
    for (const set of sets) {
      for (;;) {
        if (stopController.signal.aborted) return;
        const slice = await drainCleanup(redis, set, layout, sliceKeys);
        metrics.cleanupDeleted.inc(slice.deleted);
        setPending(slice.left);
        if (slice.left === 0) break;
      }
    }
  }

  const loop = (async () => {
    let backoff = 0;
    while (!stopController.signal.aborted) {
      kicked = false;
      try {
        await pass();
        if (failingSince !== null) logger.info({ failedForMs: Date.now() - failingSince }, 'cleanup of detached keys works again');
        failingSince = null;
        backoff = 0;
      } catch (err) {
        // Nothing is lost: the cleanup sets stay in Redis until a pass gets through.
        if (failingSince === null) logger.warn({ err: describeError(err) }, 'cleanup of detached keys failed; retrying');
        failingSince ??= Date.now();
        backoff = Math.min(MAX_BACKOFF_MS, Math.max(50, backoff * 2));
      }
      if (kicked && backoff === 0) continue;
      await sleep(backoff || sweepMs, undefined, { signal: AbortSignal.any([stopController.signal, wake.signal]) }).catch(() => undefined);
      if (wake.signal.aborted) wake = new AbortController();
    }
  })();

  return {
    kick() {
      kicked = true;
      wake.abort();
    },
    pendingKeys: () => pending,
    async stop() {
      stopController.abort();
      await loop;
    },
  };
}
