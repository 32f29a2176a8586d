import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createRedisLayout, type KeyRegistry, type RedisLayout } from '@evictd/schemas';
import { codecs, type Codec } from './codec.js';
import { invalidateKeysAndTags, type InvalidationInput, type InvalidationResult } from './invalidate.js';
import { protocolScripts } from './scripts.js';
import { CacheCounters, FILL_REJECT_REASONS, type CacheEvent, type CacheStats, type FillRejectReason } from './stats.js';
import { DEFAULT_WAIT_POLICY, nextPollDelay, validateWaitPolicy, type WaitPolicy } from './stampede.js';

export interface CacheOptions {
  /** The client to use; the cache never closes it. A single Redis primary (not Cluster). */
  redis: Redis;
  /** Must match the invalidator's (same keyPrefix and markerTtlMs). Default: createRedisLayout(). */
  layout?: RedisLayout;
  /**
   * The shapes of the keys and tags the invalidator's rules produce: loadKeyRegistry(the same
   * rules file, or the JSON `evictd registry` prints). Every fill joins the shapes its key and tags
   * match, which is what lets a TRUNCATE or a lost-slot flush fence and delete it in O(1).
   * Required: without it, table-wide invalidations could not reach this cache's fills.
   */
  registry: KeyRegistry;
  /** TTL of cached values when a call passes none. Default 300000 (5 min). */
  defaultTtlMs?: number;
  /** Waiting for another caller's fill. */
  stampede?: Partial<WaitPolicy>;
  /** Called for every counted event, e.g. to increment prom-client counters. */
  onEvent?: (event: CacheEvent) => void;
}

export interface LoadOptions {
  /** Value TTL in ms (positive integer). */
  ttlMs?: number;
  /** Tags the value depends on; invalidating any of them deletes it. */
  tags?: readonly string[];
}

export type Loader<T> = () => T | Promise<T>;

export interface Cache {
  /** Cached text value, or the loader's value, filled under the fenced-fill protocol. */
  getOrLoad(key: string, loader: Loader<string>, options?: LoadOptions): Promise<string>;
  /** Same, with a codec for other value types (codecs.json<T>(), codecs.buffer). */
  getOrLoad<T>(key: string, loader: Loader<T>, options: LoadOptions & { codec: Codec<T> }): Promise<T>;
  /** Deletes keys and tags and writes markers, exactly as the invalidator does (read-your-writes). */
  invalidate(input: Partial<InvalidationInput>): Promise<InvalidationResult>;
  stats(): CacheStats;
  readonly layout: RedisLayout;
}

export const DEFAULT_TTL_MS = 300_000;

export function createCache(options: CacheOptions): Cache {
  const { redis, registry } = options;
  if (typeof registry?.shapesOf !== 'function') {
    throw new TypeError('createCache: registry is required: pass loadKeyRegistry("<the evictd rules file>") (or createKeyRegistry({}) for a cache no rules invalidate)');
  }
  const layout = options.layout ?? createRedisLayout();
  const defaultTtlMs = checkTtl(options.defaultTtlMs ?? DEFAULT_TTL_MS, 'defaultTtlMs');
  const wait = validateWaitPolicy({ ...DEFAULT_WAIT_POLICY, ...options.stampede });
  const counters = new CacheCounters(options.onEvent);
  const scripts = protocolScripts(redis);

  async function getOrLoad<T>(key: string, loader: Loader<T>, opts: LoadOptions & { codec?: Codec<T> } = {}): Promise<T> {
    checkKey(key);
    const codec = opts.codec ?? (codecs.text as unknown as Codec<T>);
    const ttlMs = checkTtl(opts.ttlMs ?? defaultTtlMs, 'ttlMs');
    const tags = checkTags(opts.tags ?? []);

    const cached = await redis.getBuffer(key);
    if (cached !== null) return hit(key, cached, codec);

    const leaseKey = layout.leaseKey(key);
    const token = randomUUID();
    const deadline = Date.now() + wait.waitMs;
    let delay = 0;
    for (;;) {
      const [kind, payload] = await scripts.lease(key, leaseKey, token, layout.leaseTtlMs);
      const outcome = kind?.toString();
      if (outcome === 'hit' && payload) return hit(key, payload, codec);
      if (outcome === 'lease' && payload) return loadAndFill(key, loader, codec, ttlMs, tags, payload.toString());
      if (outcome !== 'busy') throw new Error(`evictd lease.lua answered ${String(outcome)} for ${key}: scripts out of date?`);
      if (delay === 0) counters.record({ type: 'stampede-wait' });
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        // Someone else still holds the lease: serve this caller, but only the lease holder may fill.
        counters.record({ type: 'stampede-timeout' });
        counters.record({ type: 'miss' });
        return loader();
      }
      delay = nextPollDelay(delay, remaining, wait);
      await sleep(delay);
    }
  }

  function hit<T>(key: string, raw: Buffer, codec: Codec<T>): T {
    let value: T;
    try {
      value = codec.decode(raw);
    } catch (err) {
      throw new Error(`cannot decode the cached value of ${key} with the given codec (was it written with another codec? change the key or delete it)`, { cause: err });
    }
    counters.record({ type: 'hit' });
    return value;
  }

  async function loadAndFill<T>(key: string, loader: Loader<T>, codec: Codec<T>, ttlMs: number, tags: string[], lease: string): Promise<T> {
    counters.record({ type: 'miss' });
    const leaseKey = layout.leaseKey(key);
    let value: T;
    let encoded: string | Buffer;
    try {
      value = await loader();
      encoded = codec.encode(value);
    } catch (err) {
      // Let a waiting caller take over at once instead of waiting out the lease TTL.
      await scripts.release(leaseKey, lease).catch(() => undefined);
      throw err;
    }
    const shapes = registry.shapesOf(key, tags);
    const fillKeys = [
      key,
      leaseKey,
      layout.keyMarkerKey(key),
      ...tags.map(layout.tagMarkerKey),
      ...shapes.map((s) => layout.shapeMarkerKey(s.kind, s.shape)),
      ...tags.map(layout.tagSetKey),
      ...shapes.map((s) => layout.shapeSetKey(s.kind, s.shape)),
    ];
    const outcome = await scripts.fill(fillKeys, lease, encoded, ttlMs, layout.markerTtlMs, tags.length, shapes.length);
    if (outcome === 'ok') {
      counters.record({ type: 'fill' });
      if (shapes.length === 0) counters.record({ type: 'unregistered-fill' });
    }
    else if (isRejectReason(outcome)) counters.record({ type: 'fill-rejected', reason: outcome });
    else throw new Error(`evictd fill.lua answered ${String(outcome)} for ${key}: scripts out of date?`);
    return value;
  }

  return {
    getOrLoad: getOrLoad as Cache['getOrLoad'],
    invalidate: (input) => invalidateKeysAndTags(redis, { keys: input.keys ?? [], tags: input.tags ?? [] }, layout),
    stats: () => counters.snapshot(),
    layout,
  };
}

function isRejectReason(value: unknown): value is FillRejectReason {
  return (FILL_REJECT_REASONS as readonly unknown[]).includes(value);
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(`getOrLoad: key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
}

function checkTtl(ttl: unknown, name: string): number {
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new RangeError(`${name} must be a positive integer number of milliseconds, got ${String(ttl)}`);
  }
  return ttl;
}

function checkTags(tags: readonly unknown[]): string[] {
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new TypeError(`tags must be an array of non-empty strings, got ${JSON.stringify(tags)}`);
  }
  return [...new Set(tags as string[])];
}
