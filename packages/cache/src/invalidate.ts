import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisLayout, Shape } from '@evictd/schemas';
import { defineScripts, protocolScripts, queueInvalidate } from './scripts.js';

export interface InvalidationInput {
  keys: readonly string[];
  tags: readonly string[];
}

export interface InvalidationResult {
  /** Distinct keys deleted and marked. */
  keys: number;
  /** Distinct tags whose members were deleted and which were marked. */
  tags: number;
  /** Member keys found in the tag sets and deleted. */
  tagMembers: number;
  /** Pipelines sent to Redis. */
  roundTrips: number;
}

/** One invalidate.lua call: its KEYS (see the script header) and how many keys and tags they hold. */
export interface InvalidationCall {
  redisKeys: string[];
  keyCount: number;
  tagCount: number;
}

/** Bounds one script call (Redis stays responsive) and one pipeline (client memory). */
export const MAX_ITEMS_PER_CALL = 500;
export const MAX_CALLS_PER_ROUND_TRIP = 32;

/** Splits deduplicated keys and tags into script calls of at most maxItems keys + tags. Pure. */
export function planInvalidation(input: InvalidationInput, layout: RedisLayout, maxItems = MAX_ITEMS_PER_CALL): InvalidationCall[] {
  const keys = distinctStrings(input.keys, 'keys');
  const tags = distinctStrings(input.tags, 'tags');
  const calls: InvalidationCall[] = [];
  let k = 0;
  let t = 0;
  while (k < keys.length || t < tags.length) {
    const callKeys = keys.slice(k, k + maxItems);
    const callTags = tags.slice(t, t + maxItems - callKeys.length);
    k += callKeys.length;
    t += callTags.length;
    calls.push({
      redisKeys: [
        ...callKeys,
        ...callKeys.map(layout.keyMarkerKey),
        ...callTags.map(layout.tagSetKey),
        ...callTags.map(layout.tagMarkerKey),
      ],
      keyCount: callKeys.length,
      tagCount: callTags.length,
    });
  }
  return calls;
}

function distinctStrings(values: readonly string[], field: string): string[] {
  if (!Array.isArray(values)) {
    throw new TypeError(`invalidateKeysAndTags: ${field} must be an array of strings, got ${typeof values}`);
  }
  for (const v of values) {
    if (typeof v !== 'string') {
      throw new TypeError(`invalidateKeysAndTags: every entry of ${field} must be a string, got ${typeof v} (${String(v)})`);
    }
  }
  return [...new Set(values)];
}

/**
 * Deletes the keys and every member of the tags, and writes their invalidation markers (Redis
 * server time, PX layout.markerTtlMs), so a fill whose lease began earlier is refused. Idempotent.
 * Rejects with the first Redis error: nothing is confirmed unless everything succeeded, and a
 * retry is safe.
 */
export async function invalidateKeysAndTags(redis: Redis, input: InvalidationInput, layout: RedisLayout): Promise<InvalidationResult> {
  const calls = planInvalidation(input, layout);
  defineScripts(redis);
  const result: InvalidationResult = { keys: 0, tags: 0, tagMembers: 0, roundTrips: 0 };
  for (let i = 0; i < calls.length; i += MAX_CALLS_PER_ROUND_TRIP) {
    const batch = calls.slice(i, i + MAX_CALLS_PER_ROUND_TRIP);
    const pipeline = redis.pipeline();
    for (const call of batch) queueInvalidate(pipeline, call.redisKeys, call.keyCount, call.tagCount, layout.markerTtlMs);
    const replies = await pipeline.exec();
    result.roundTrips++;
    if (replies === null) throw new Error('invalidateKeysAndTags: Redis discarded the pipeline; retry');
    batch.forEach((call, j) => {
      const [err, members] = replies[j] ?? [new Error('invalidateKeysAndTags: missing pipeline reply; retry'), 0];
      if (err) throw err;
      result.keys += call.keyCount;
      result.tags += call.tagCount;
      result.tagMembers += Number(members);
    });
  }
  return result;
}

/** Most shapes fenced by one flush.lua call (a batch rarely has more than a few). */
const MAX_SHAPES_PER_FLUSH = 200;

export interface ShapeFlushResult {
  /** Cached keys detached for cleanup (deleted later by drainCleanup). */
  detached: number;
  /** Scripts sent to Redis. */
  roundTrips: number;
}

/**
 * The first, O(shapes) step of a table-wide invalidation: writes each shape's marker (so no fill
 * whose lease began earlier can land under it) and moves its set of cached keys aside for
 * cleanup, registered in the layout's cleanup index. Once this resolves the invalidation is
 * durable in Redis: drainCleanup finishes it, after a crash too. Idempotent for the fence.
 */
export async function flushShapes(redis: Redis, shapes: readonly Shape[], layout: RedisLayout): Promise<ShapeFlushResult> {
  const scripts = protocolScripts(redis);
  const result: ShapeFlushResult = { detached: 0, roundTrips: 0 };
  const distinct = [...new Map(shapes.map((s) => [`${s.kind}:${s.shape}`, s])).values()];
  for (let i = 0; i < distinct.length; i += MAX_SHAPES_PER_FLUSH) {
    const slice = distinct.slice(i, i + MAX_SHAPES_PER_FLUSH);
    const keys = [
      ...slice.map((s) => layout.shapeMarkerKey(s.kind, s.shape)),
      ...slice.map((s) => layout.shapeSetKey(s.kind, s.shape)),
      layout.cleanupIndexKey,
      ...slice.map(() => layout.cleanupSetKey(randomUUID())),
    ];
    result.detached += await scripts.flush(keys, slice.length, layout.markerTtlMs);
    result.roundTrips++;
  }
  return result;
}

/** Cleanup sets still holding keys to delete (written by flushShapes, emptied by drainCleanup). */
export function pendingCleanups(redis: Redis, layout: RedisLayout): Promise<string[]> {
  return redis.smembers(layout.cleanupIndexKey);
}

/**
 * Deletes up to `count` keys of one cleanup set (one short script: Redis stays responsive);
 * resolves with how many it deleted and how many are left. A set with none left leaves the index.
 */
export async function drainCleanup(redis: Redis, cleanupSetKey: string, layout: RedisLayout, count: number): Promise<{ deleted: number; left: number }> {
  const [deleted, left] = await protocolScripts(redis).drain(layout.cleanupIndexKey, cleanupSetKey, count);
  return { deleted: Number(deleted), left: Number(left) };
}
