import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The invalidator's metrics; rates (events/s, keys/s) come from the counters in Prometheus. */
export function createInvalidatorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'evictd_invalidate_events_total',
      help: 'Change events consumed, by table, op and outcome (invalidated, filtered: no watched column changed, no_rule: table without rules)',
      labelNames: ['table', 'op', 'outcome'] as const,
      registers,
    }),
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
    lag: new Histogram({
      name: 'evictd_invalidate_commit_to_delete_seconds',
      help: 'From the Postgres commit (source.ts_ms) to Redis confirming the deletion',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'evictd_invalidate_consumer_lag',
      help: 'Messages between the last applied offset and the partition high watermark',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'evictd_invalidate_dead_letters_total',
      help: 'Malformed messages sent to the dead-letter topic',
      labelNames: ['topic'] as const,
      registers,
    }),
    shapeFlushes: new Counter({
      name: 'evictd_invalidate_shape_flushes_total',
      help: 'Key and tag shapes fenced by table-wide invalidations, by cause: truncate, flush (lost slot), unresolved (an old value the event lacks: fix the replica identity)',
      labelNames: ['table', 'cause'] as const,
      registers,
    }),
    cleanupDeleted: new Counter({ name: 'evictd_invalidate_cleanup_deleted_total', help: 'Cached keys deleted by the cleaner after table-wide invalidations', registers }),
    cleanupPending: new Gauge({ name: 'evictd_invalidate_cleanup_pending_keys', help: 'Keys left in the cleanup set being drained (0 when idle)', registers }),
    redisRetries: new Counter({ name: 'evictd_invalidate_redis_retries_total', help: 'Failed Redis deletion attempts that were retried', registers }),
  };
}

export type InvalidatorMetrics = ReturnType<typeof createInvalidatorMetrics>;
