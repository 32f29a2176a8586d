/**
 * Applies a batch's invalidations to Redis: deletes keys and tags, then whatever the globs match
 * (scanned page by page), with the fenced-fill markers (@evictd/cache's invalidateKeysAndTags). Resolves only once Redis confirmed
 * every deletion; while Redis is unreachable it retries with backoff until it is back or the
 * caller stops, so the consumer never commits past an unconfirmed deletion.
 */
import type { Redis } from 'ioredis';
import { invalidateKeysAndTags, type InvalidationResult } from '@evictd/cache';
import type { RedisLayout } from '@evictd/schemas';
import { EvictdError, describeError } from '../errors.js';
import { retry } from '../retry.js';
import type { BatchInvalidation } from './batch.js';
import { scanPages } from './expand.js';

/** Replies Redis gives while it cannot serve yet (restarting, failing over): retry helps. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|READONLY|MASTERDOWN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * Connection problems and transient replies are retriable; any other error reply (e.g. WRONGTYPE:
 * an application key collides with evictd's namespace) is not, and programming errors stay as they are.
 */
export function classifyRedisError(err: unknown): unknown {
  if (err instanceof EvictdError || err instanceof TypeError || err instanceof RangeError) return err;
  const message = describeError(err);
  if ((err as { name?: string } | null)?.name === 'ReplyError' && !TRANSIENT_REPLY.test(message)) {
    return new EvictdError('REDIS_ERROR', `Redis refused an invalidation: ${message}`, { cause: err });
  }
  return new EvictdError('REDIS_UNAVAILABLE', `Redis unavailable: ${message}`, { retriable: true, cause: err });
}

export interface ApplyOptions {
  /** Ends the retries (the batch is then left uncommitted). */
  signal: AbortSignal;
  /** Called before each backoff, e.g. to heartbeat the consumer group. */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Called after each page of a scan: a TRUNCATE of a large cache may scan for long. */
  onProgress?: () => void;
}

export async function applyInvalidations(
  redis: Redis,
  layout: RedisLayout,
  batch: BatchInvalidation,
  options: ApplyOptions,
): Promise<InvalidationResult> {
  return retry(
    async () => {
      try {
        const total = await invalidateKeysAndTags(redis, batch, layout);
        for await (const page of scanPages(redis, layout, batch.keyGlobs, batch.tagGlobs)) {
          const result = await invalidateKeysAndTags(redis, page, layout);
          total.keys += result.keys;
          total.tags += result.tags;
          total.tagMembers += result.tagMembers;
          total.roundTrips += result.roundTrips;
          options.onProgress?.();
        }
        return total;
      } catch (err) {
        throw classifyRedisError(err);
      }
    },
    { minDelayMs: 50, maxDelayMs: 2_000, signal: options.signal, onRetry: options.onRetry },
  );
}
