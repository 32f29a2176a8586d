/**
 * The Redis target: deletions through @evictd/cache's fenced-fill protocol (markers, tag sets,
 * shapes detached for the cleaner), see schemas/redis/LAYOUT.md. Owns the Redis connection, the
 * background cleaner of table-wide invalidations and the INFO sampler.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { createRedisLayout } from '@evictd/schemas';
import type { EvictdConfig, RedisTargetSettings } from '../config/index.js';
import { watchRedisLink } from '../observability/redis-link.js';
import { applyInvalidations, createRedisTargetMetrics, startCleaner } from '../redis/index.js';
import { startRedisInfoSampler } from '../redis/info.js';
import type { Target, TargetContext } from './target.js';

/** How often a still-down Redis is logged again. */
const REPEAT_LOG_MS = 30_000;

export function redisClientOptions(redis: EvictdConfig['redis']): RedisOptions {
  return {
    password: redis.password,
    tls: redis.tls,
    // Fail commands fast while Redis is away: the deleter's own backoff decides when to try again.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    connectionName: 'evictd-invalidate',
  };
}

export async function createRedisTarget(_settings: RedisTargetSettings, name: string, ctx: TargetContext): Promise<Target> {
  const { config, logger, registry } = ctx;
  const layout = createRedisLayout({ keyPrefix: config.redis.keyPrefix, markerTtlMs: config.invalidate.markerTtlMs });
  const metrics = createRedisTargetMetrics(registry);
  const redis = new Redis(config.redis.url, redisClientOptions(config.redis));
  const link = watchRedisLink(redis, logger, REPEAT_LOG_MS);
  // Finishes table-wide invalidations in the background, including any a crashed peer left.
  const cleaner = startCleaner({ redis, layout, logger, metrics });
  // Redis INFO figures on a timer of their own (never on the invalidation path); a failed sample only counts.
  const info = startRedisInfoSampler({ redis, registry });
  return {
    name,
    type: 'redis',
    async apply(batch, apply) {
      const result = await applyInvalidations(redis, layout, batch, {
        signal: apply.signal,
        scanUnregistered: config.invalidate.scanUnregistered,
        onRetry: (err) => {
          metrics.redisRetries.inc();
          apply.onRetry(err);
        },
        onProgress: apply.onProgress,
      });
      if (result.detached > 0) cleaner.kick();
      metrics.keys.inc(result.keys);
      metrics.tags.inc(result.tags);
      metrics.tagMembers.inc(result.tagMembers);
      metrics.roundTrips.inc(result.roundTrips);
      if (result.roundTrips > 0) metrics.itemsPerRoundTrip.observe((result.keys + result.tags) / result.roundTrips);
      return { items: result.keys + result.tags + result.shapes, requests: result.roundTrips };
    },
    down: () => link.down(),
    detail: () => ({ cleanupPendingKeys: cleaner.pendingKeys() }),
    async stop() {
      await info.stop();
      await cleaner.stop();
      redis.disconnect();
    },
  };
}
