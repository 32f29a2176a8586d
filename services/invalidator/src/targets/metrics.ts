import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The invalidator's metrics shared by every target, each labelled with the target: every target
 * is its own consumer group and sees every event, so unlabelled counters would count each event
 * once per target. Target-specific figures (Redis round trips, HTTP statuses) are the target's own.
 */
export function createInvalidatorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'evictd_invalidate_events_total',
      help: 'Change events consumed, by table, op and outcome (invalidated, filtered: no watched column changed, no_rule: table without rules), per target',
      labelNames: ['table', 'op', 'outcome', 'target'] as const,
      registers,
    }),
    lag: new Histogram({
      name: 'evictd_invalidate_commit_to_delete_seconds',
      help: 'From the Postgres commit (source.ts_ms) to the target confirming the invalidation (Redis deletion, Memcached delete, HTTP purge)',
      labelNames: ['target'] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'evictd_invalidate_consumer_lag',
      help: 'Messages between the last applied offset and the partition high watermark, per target (consumer group)',
      labelNames: ['target', 'topic', 'partition'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'evictd_invalidate_dead_letters_total',
      help: 'Malformed messages sent to the dead-letter topic (by the first target of the config only, so each is sent once)',
      labelNames: ['topic'] as const,
      registers,
    }),
    shapeFlushes: new Counter({
      name: 'evictd_invalidate_shape_flushes_total',
      help: 'Key and tag shapes invalidated as a whole by table-wide invalidations, by cause: truncate, flush (lost slot), unresolved (an old value the event lacks: fix the replica identity), per target',
      labelNames: ['table', 'cause', 'target'] as const,
      registers,
    }),
    items: new Counter({
      name: 'evictd_invalidate_target_items_total',
      help: 'Keys, tags and shapes the target confirmed invalidated (after batch deduplication)',
      labelNames: ['target', 'type'] as const,
      registers,
    }),
    requests: new Counter({
      name: 'evictd_invalidate_target_requests_total',
      help: 'Round trips / requests the target took to confirm them',
      labelNames: ['target', 'type'] as const,
      registers,
    }),
    retries: new Counter({
      name: 'evictd_invalidate_target_retries_total',
      help: 'Failed attempts at a target that were retried (nothing is committed meanwhile)',
      labelNames: ['target', 'type'] as const,
      registers,
    }),
    wait: new Histogram({
      name: 'evictd_invalidate_target_wait_seconds',
      help: 'How long a chunk of a target with `after` waited for the target it follows to confirm the same changes (0 when it already had), per target',
      labelNames: ['target'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    waiting: new Gauge({
      name: 'evictd_invalidate_target_waiting_seconds',
      help: 'Age of the oldest chunk of a target with `after` still waiting now (0: none waits), per target; grows while the target it follows confirms nothing',
      labelNames: ['target'] as const,
      registers,
    }),
    up: new Gauge({
      name: 'evictd_invalidate_target_up',
      help: '1 while the target answers, 0 while it is down (its consumer group commits nothing until it is back)',
      labelNames: ['target', 'type'] as const,
      registers,
    }),
  };
}

export type InvalidatorMetrics = ReturnType<typeof createInvalidatorMetrics>;
