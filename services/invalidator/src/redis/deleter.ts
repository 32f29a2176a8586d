/**
 * Applies a batch's invalidations to Redis through @evictd/cache's protocol functions: keys and
 * tags with their markers, shapes fenced and detached. Resolves only once Redis confirmed all of
 * it; while Redis is unreachable it retries with backoff until it is back or the caller stops, so
 * the consumer never commits past an unconfirmed invalidation.
 */
import type { Redis } from 'ioredis';
import { flushShapes, invalidateKeysAndTags, type InvalidationResult } from '@evictd/cache';
import type { RedisLayout, Shape } from '@evictd/schemas';
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
  /** `invalidate.scanUnregistered`: also scan the keyspace for the shapes (keys written outside the protocol). */
  scanUnregistered: boolean;
  /** Called after each page of that scan, which may take long on a large keyspace. */
  onProgress?: () => void;
}

export interface ApplyResult extends InvalidationResult {
  /** Shapes fenced (table-wide invalidations). */
  shapes: number;
  /** Cached keys those shapes detached for the cleaner. */
  detached: number;
}

/**
 * Keys and tags first (one atomic script per slice, marker and deletion together), then the
 * shapes: each shape's marker is written and its cached keys detached in one O(shapes) script,
 * so a table-wide invalidation is fenced before anything of it is deleted, and is durable in
 * Redis (the cleaner deletes the detached keys) by the time this resolves.
 */
export async function applyInvalidations(
  redis: Redis,
  layout: RedisLayout,
  batch: BatchInvalidation,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const shapes: Shape[] = [
    ...batch.keyShapes.map((shape): Shape => ({ kind: 'key', shape })),
    ...batch.tagShapes.map((shape): Shape => ({ kind: 'tag', shape })),
  ];
  return retry(
    async () => {
      try {
        const total = await invalidateKeysAndTags(redis, batch, layout);
        const flushed = await flushShapes(redis, shapes, layout);
        if (options.scanUnregistered && shapes.length > 0) {
          for await (const page of scanPages(redis, layout, batch.keyShapes, batch.tagShapes)) {
            const result = await invalidateKeysAndTags(redis, page, layout);
            total.keys += result.keys;
            total.tags += result.tags;
            total.tagMembers += result.tagMembers;
            total.roundTrips += result.roundTrips;
            options.onProgress?.();
          }
        }
        return { ...total, shapes: shapes.length, detached: flushed.detached, roundTrips: total.roundTrips + flushed.roundTrips };
      } catch (err) {
        throw classifyRedisError(err);
      }
    },
    { minDelayMs: 50, maxDelayMs: 2_000, signal: options.signal, onRetry: options.onRetry },
  );
}
