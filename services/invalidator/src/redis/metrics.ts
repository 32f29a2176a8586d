import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The Redis target's own metrics (the per-target ones are in targets/metrics.ts); rates come from the counters in Prometheus. */
export function createRedisTargetMetrics(registry: Registry) {
  const registers = [registry];
  return {
    keys: new Counter({ name: 'evictd_invalidate_keys_total', help: 'Keys deleted and marked (after batch deduplication)', registers }),
    tags: new Counter({ name: 'evictd_invalidate_tags_total', help: 'Tags invalidated (their sets expanded, members deleted, marked)', registers }),
    tagMembers: new Counter({ name: 'evictd_invalidate_tag_members_total', help: 'Member keys deleted through tags', registers }),
    roundTrips: new Counter({ name: 'evictd_invalidate_redis_round_trips_total', help: 'Pipelines sent to Redis for deletions', registers }),
    itemsPerRoundTrip: new Histogram({
      name: 'evictd_invalidate_items_per_round_trip',
      help: 'Keys plus tags per Redis round trip, per applied batch',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 16000],
      registers,
    }),
    cleanupDeleted: new Counter({ name: 'evictd_invalidate_cleanup_deleted_total', help: 'Cached keys deleted by the cleaner after table-wide invalidations', registers }),
    cleanupPending: new Gauge({ name: 'evictd_invalidate_cleanup_pending_keys', help: 'Keys left in the cleanup set being drained (0 when idle)', registers }),
    redisRetries: new Counter({ name: 'evictd_invalidate_redis_retries_total', help: 'Failed Redis deletion attempts that were retried', registers }),
  };
}

export type RedisTargetMetrics = ReturnType<typeof createRedisTargetMetrics>;
