import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createRedisLayout, type KeyRegistry, type RedisLayout } from '@evictd/schemas';
import { codecs, type Codec } from './codec.js';
import { invalidateKeysAndTags, type InvalidationInput, type InvalidationResult } from './invalidate.js';
import { CircuitBreaker, DEFAULT_BREAKER_POLICY, validateBreakerPolicy, type BreakerPolicy } from './breaker.js';
import { L1Tier, type L1Options } from './l1.js';
import { DEFAULT_EARLY_REFRESH, parseLoadTime, shouldRefreshEarly, validateEarlyRefresh, type EarlyRefreshPolicy } from './refresh.js';
import { protocolScripts } from './scripts.js';
import { CacheCounters, FILL_REJECT_REASONS, type CacheEvent, type CacheStats, type DegradeReason, type FillRejectReason } from './stats.js';
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
  /**
   * An in-process L1 tier in front of Redis, kept in step by Redis client-side caching (two
   * connections of its own, duplicated from `redis`; close() closes them). Off by default.
   */
  l1?: L1Options;
  /**
   * The circuit breaker in front of Redis: while Redis fails or is slow, calls are answered by
   * their loader (and L1) without filling. On by default; `false` makes Redis errors reject as before.
   */
  breaker?: Partial<BreakerPolicy> | false;
  /**
   * Probabilistic early expiration (XFetch): a Redis hit refreshes the value in the background,
   * with probability growing as the expiry nears, `now - loadTime * beta * ln(rand()) >= expiry`.
   * The caller gets the cached value at once. The refresh takes the key's lease (one refresher
   * per key across all instances) and fills through fill.lua like a miss, so it is fenced the same
   * way. Off by default; `{}` means beta 1.
   */
  earlyRefresh?: Partial<EarlyRefreshPolicy> | false;
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
  /** Deletes keys and tags and writes markers, exactly as the invalidator does (read-your-writes, in this instance's L1 too). */
  invalidate(input: Partial<InvalidationInput>): Promise<InvalidationResult>;
  stats(): CacheStats;
  /** The L1 tier (inspection, tests), or null without `l1`. */
  readonly l1: L1View | null;
  readonly layout: RedisLayout;
  /** Waits for running early refreshes, then closes the L1 tier's own connections (never the `redis` client passed in). */
  close(): Promise<void>;
}

export interface L1View {
  /** Whether invalidations are being received (L1 stores values only then). */
  readonly tracking: boolean;
  /** Resolves once tracking is established; rejects after timeoutMs. */
  whenTracking(timeoutMs: number): Promise<void>;
  /** The unexpired entries with their raw (encoded) values, without touching recency. */
  entries(): Array<[string, Buffer]>;
}

type RedisOutcome<R> = { ok: true; value: R } | { ok: false; reason: DegradeReason };

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
  const breaker = options.breaker === false
    ? undefined
    : new CircuitBreaker(validateBreakerPolicy({ ...DEFAULT_BREAKER_POLICY, ...options.breaker }), (t) => counters.record({ type: 'breaker', ...t }));
  const l1 = options.l1 ? new L1Tier(redis, options.l1, (e) => counters.record(e)) : undefined;
  const early = options.earlyRefresh ? validateEarlyRefresh({ ...DEFAULT_EARLY_REFRESH, ...options.earlyRefresh }) : undefined;
  /** Keys this instance is refreshing now (other instances are kept out by the lease). */
  const refreshing = new Map<string, Promise<void>>();

  /**
   * One Redis round trip behind the breaker. A connection failure, a timeout or an open breaker
   * comes back as { ok: false } (the caller degrades to its loader); an error reply from Redis
   * rejects (Redis is up, the request is wrong). `late` sees the reply of a call that timed out.
   */
  async function redisCall<R>(op: () => Promise<R>, late?: (reply: R) => void): Promise<RedisOutcome<R>> {
    if (!breaker) return { ok: true, value: await op() };
    const permit = breaker.acquire(Date.now());
    if (!permit) return { ok: false, reason: 'breaker-open' };
    const started = performance.now();
    const pending = op();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, breaker.policy.timeoutMs, 'timeout')));
    try {
      const value = await Promise.race([pending, timeout]);
      if (value === 'timeout') {
        permit.failed(Date.now());
        pending.then(late, () => undefined);
        return { ok: false, reason: 'redis-timeout' };
      }
      permit.succeeded(performance.now() - started, Date.now());
      return { ok: true, value: value as R };
    } catch (err) {
      if ((err as Error | undefined)?.name === 'ReplyError') {
        permit.succeeded(performance.now() - started, Date.now());
        throw err;
      }
      permit.failed(Date.now());
      return { ok: false, reason: 'redis-error' };
    } finally {
      clearTimeout(timer);
    }
  }

  /** For a lease.lua/refresh.lua call that timed out: a lease taken after its caller gave up is freed at once, not after leaseTtlMs. */
  function releaseLateLease(leaseKey: string): (reply: Buffer[]) => void {
    return ([kind, payload]) => {
      if (kind?.toString() === 'lease' && payload) scripts.release(leaseKey, payload.toString()).catch(() => undefined);
    };
  }

  async function degrade<T>(loader: Loader<T>, reason: DegradeReason): Promise<T> {
    counters.record({ type: 'degraded', reason });
    return loader();
  }

  async function getOrLoad<T>(key: string, loader: Loader<T>, opts: LoadOptions & { codec?: Codec<T> } = {}): Promise<T> {
    checkKey(key);
    const codec = opts.codec ?? (codecs.text as unknown as Codec<T>);
    const ttlMs = checkTtl(opts.ttlMs ?? defaultTtlMs, 'ttlMs');
    const tags = checkTags(opts.tags ?? []);

    if (l1) {
      const held = l1.get(key);
      if (held) return hit(key, held, codec, 'l1-hit');
    }
    // With L1 the read goes through its tracked connection: only such reads may enter L1.
    const read = await redisCall(() => readRedis(key));
    if (!read.ok) return degrade(loader, read.reason);
    const { value: cached, pttlMs, loadTime } = read.value;
    if (cached !== null) {
      const value = hit(key, cached, codec);
      if (early && shouldRefreshEarly(pttlMs, parseLoadTime(loadTime), early)) startRefresh(key, loader, codec, ttlMs, tags);
      return value;
    }

    const leaseKey = layout.leaseKey(key);
    const token = randomUUID();
    const deadline = Date.now() + wait.waitMs;
    let delay = 0;
    for (;;) {
      const leased = await redisCall(() => scripts.lease(key, leaseKey, token, layout.leaseTtlMs), releaseLateLease(leaseKey));
      if (!leased.ok) return degrade(loader, leased.reason);
      const [kind, payload] = leased.value;
      const outcome = kind?.toString();
      if (outcome === 'hit' && payload) return hit(key, payload, codec);
      if (outcome === 'lease' && payload) return (await loadAndFill(key, loader, codec, ttlMs, tags, payload.toString(), 'miss')).value;
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

  /**
   * The hit path's one round trip: a lone GET, or with early refresh read.lua (GET + PTTL + GET of
   * the load-time key in one command: a pipeline of three costs ioredis about 3x a GET, EVALSHA
   * about the same as a GET); with L1 its tracked MULTI, which then reads the load time too.
   */
  async function readRedis(key: string): Promise<{ value: Buffer | null; pttlMs: number; loadTime: Buffer | null }> {
    if (l1) {
      return l1.read(key, early && {
        loadTimeKey: layout.loadTimeKey(key),
        // Leave the last loadTime * beta * 3 ms of the value's life to Redis reads (XFetch refreshes
        // earlier than that with probability e^-3, 5 %), so L1 does not hide the expiry.
        reserveMs: (raw) => (parseLoadTime(raw) ?? 0) * early.beta * 3,
      });
    }
    if (!early) return { value: await redis.getBuffer(key), pttlMs: -1, loadTime: null };
    const [value, pttlMs, loadTime] = await scripts.read(key, layout.loadTimeKey(key));
    return { value, pttlMs, loadTime };
  }

  /** Starts a background refresh of a key this call just served from Redis; never throws. */
  function startRefresh<T>(key: string, loader: Loader<T>, codec: Codec<T>, ttlMs: number, tags: string[]): void {
    // One refresh per key per instance; and none while Redis is deemed down (it could not fill).
    if (refreshing.has(key) || (breaker && breaker.state !== 'closed')) return;
    const running = refresh(key, loader, codec, ttlMs, tags)
      .catch(() => counters.record({ type: 'refresh-failed' }))
      .finally(() => refreshing.delete(key));
    refreshing.set(key, running);
  }

  async function refresh<T>(key: string, loader: Loader<T>, codec: Codec<T>, ttlMs: number, tags: string[]): Promise<void> {
    const leaseKey = layout.leaseKey(key);
    const taken = await redisCall(() => scripts.refresh(key, leaseKey, randomUUID(), layout.leaseTtlMs), releaseLateLease(leaseKey));
    if (!taken.ok) {
      counters.record({ type: 'refresh-failed' });
      return;
    }
    const [kind, payload] = taken.value;
    const outcome = kind?.toString();
    if (outcome === 'busy') {
      counters.record({ type: 'refresh-skipped' });
      return;
    }
    // Invalidated or expired since the read: the next caller misses and loads under lease.lua.
    if (outcome === 'gone') return;
    if (outcome !== 'lease' || !payload) throw new Error(`evictd refresh.lua answered ${String(outcome)} for ${key}: scripts out of date?`);
    counters.record({ type: 'refresh' });
    const { answered } = await loadAndFill(key, loader, codec, ttlMs, tags, payload.toString(), 'refresh');
    if (!answered) counters.record({ type: 'refresh-failed' });
  }

  function hit<T>(key: string, raw: Buffer, codec: Codec<T>, type: 'hit' | 'l1-hit' = 'hit'): T {
    let value: T;
    try {
      value = codec.decode(raw);
    } catch (err) {
      throw new Error(`cannot decode the cached value of ${key} with the given codec (was it written with another codec? change the key or delete it)`, { cause: err });
    }
    counters.record({ type });
    return value;
  }

  /** Runs the loader under a held lease and fills; `answered` is false if the fill got no reply. */
  async function loadAndFill<T>(key: string, loader: Loader<T>, codec: Codec<T>, ttlMs: number, tags: string[], lease: string, purpose: 'miss' | 'refresh'): Promise<{ value: T; answered: boolean }> {
    if (purpose === 'miss') counters.record({ type: 'miss' });
    const leaseKey = layout.leaseKey(key);
    let value: T;
    let encoded: string | Buffer;
    const started = performance.now();
    let loadTimeMs: string | undefined;
    try {
      value = await loader();
      encoded = codec.encode(value);
      // Never 0: a recorded load time of 0 would turn early refresh off for the key.
      if (early) loadTimeMs = Math.max(0.001, performance.now() - started).toFixed(3);
    } catch (err) {
      // Let a waiting caller take over at once instead of waiting out the lease TTL.
      await redisCall(() => scripts.release(leaseKey, lease)).catch(() => undefined);
      throw err;
    }
    if (breaker && breaker.state !== 'closed') {
      // Never fill while Redis is deemed down; the lease expires on its own.
      counters.record({ type: 'fill-rejected', reason: 'breaker-open' });
      return { value, answered: true };
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
      ...(loadTimeMs === undefined ? [] : [layout.loadTimeKey(key)]),
    ];
    const filled = await redisCall(() => scripts.fill(fillKeys, lease, encoded, ttlMs, layout.markerTtlMs, tags.length, shapes.length, loadTimeMs));
    // Unanswered: the fill may still run in Redis, where the fence decides; the caller has its value.
    if (!filled.ok) return { value, answered: false };
    const outcome = filled.value;
    if (outcome === 'ok') {
      counters.record({ type: 'fill' });
      if (shapes.length === 0) counters.record({ type: 'unregistered-fill' });
    }
    else if (isRejectReason(outcome)) counters.record({ type: 'fill-rejected', reason: outcome });
    else throw new Error(`evictd fill.lua answered ${String(outcome)} for ${key}: scripts out of date?`);
    return { value, answered: true };
  }

  return {
    getOrLoad: getOrLoad as Cache['getOrLoad'],
    invalidate: async (input) => {
      const result = await invalidateKeysAndTags(redis, { keys: input.keys ?? [], tags: input.tags ?? [] }, layout);
      // Read-your-writes in this instance too: wait until L1 has applied the invalidations (tag
      // members included, which only Redis knows).
      await l1?.sync(breaker?.policy.timeoutMs ?? DEFAULT_BREAKER_POLICY.timeoutMs);
      return result;
    },
    stats: () => counters.snapshot(breaker?.state ?? 'closed', l1?.stats() ?? null),
    l1: l1
      ? {
          get tracking() {
            return l1.isTracking;
          },
          whenTracking: (ms) => l1.whenTracking(ms),
          entries: () => l1.entries(),
        }
      : null,
    layout,
    close: async () => {
      await Promise.all(refreshing.values());
      await l1?.close();
    },
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
