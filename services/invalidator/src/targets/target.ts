/**
 * A target is one cache an invalidator consumer group writes to: Redis (the fenced-fill
 * protocol), Memcached, or an HTTP cache / CDN purge API. Every target gets the same rendered
 * batch (keys, tags, and the shapes of table-wide invalidations) and resolves `apply` only once
 * the cache confirmed all of it: the consumer commits the batch's offsets after that and never
 * before, so a target that fails keeps its offsets and nothing is lost.
 */
import type { Registry } from 'prom-client';
import type { EvictdConfig } from '../config/index.js';
import type { Logger } from '../observability/log.js';
import type { BatchInvalidation } from '../redis/batch.js';

export type TargetType = 'redis' | 'memcached' | 'http';

export interface ApplyContext {
  /** Aborted when the consumer stops or lost the partition: give up, the batch stays uncommitted. */
  readonly signal: AbortSignal;
  /** Call before each backoff while the cache is unreachable (keeps the group membership alive). */
  onRetry(err: unknown): void;
  /** Call during long work (a big purge split into many requests) for the same reason. */
  onProgress(): void;
}

export interface ApplyOutcome {
  /** Items the cache confirmed (keys deleted, tags purged, shapes flushed), for metrics. */
  readonly items: number;
  /** Requests / round trips it took. */
  readonly requests: number;
}

export interface TargetOutage {
  readonly since: number;
  readonly error: string;
}

export interface Target {
  readonly name: string;
  readonly type: TargetType;
  /**
   * Applies one partition's batch. Retries transient failures itself (with backoff, until it
   * succeeds or ctx.signal aborts); rejects with an EvictdError only for a failure that retrying
   * cannot mend (the consumer then stops without committing).
   */
  apply(batch: BatchInvalidation, ctx: ApplyContext): Promise<ApplyOutcome>;
  /** null while the cache answers; the outage while it does not (for /healthz). */
  down(): TargetOutage | null;
  /** Extra health detail (e.g. Redis cleanup backlog). */
  detail(): Record<string, unknown>;
  /** Releases connections and timers. */
  stop(): Promise<void>;
}

export interface TargetContext {
  readonly config: EvictdConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Aborted when the process stops. */
  readonly signal: AbortSignal;
}
