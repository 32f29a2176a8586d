import type { BreakerState, BreakerTransition } from './breaker.js';
import type { L1Event, L1Stats } from './l1.js';

/** Why a fill was dropped (the loaded value is still returned to the caller). */
export const FILL_REJECT_REASONS = ['lease-lost', 'too-old', 'invalidated', 'breaker-open'] as const;
export type FillRejectReason = (typeof FILL_REJECT_REASONS)[number];

/** Why a call was answered by its loader without the cache (Redis unusable). */
export const DEGRADE_REASONS = ['breaker-open', 'redis-error', 'redis-timeout'] as const;
export type DegradeReason = (typeof DEGRADE_REASONS)[number];

export interface CacheStats {
  /** Calls answered from the in-process L1 tier (0 without `l1`). */
  l1Hits: number;
  /** Calls answered from Redis, including after waiting for another caller's fill. */
  hits: number;
  /** Calls that ran their loader after a Redis miss. */
  misses: number;
  /** Calls answered by their loader because Redis failed, was too slow, or the breaker was open; never filled. */
  degraded: Record<DegradeReason, number>;
  /** Loaded values written to Redis. */
  fills: number;
  /**
   * Fills of keys that neither the key nor any tag of matches a template of the key registry:
   * only an explicit invalidate() of the key or a tag, or the TTL, removes them.
   */
  unregisteredFills: number;
  /** Loaded values not written, by reason. */
  fillRejected: Record<FillRejectReason, number>;
  /** Calls that found another caller loading the key and waited for its fill. */
  stampedeWaits: number;
  /** Waiting calls that gave up after the wait bound and loaded without filling. */
  stampedeTimeouts: number;
  /** Early refreshes that took the key's lease and ran the loader in the background (earlyRefresh). */
  refreshes: number;
  /** Early refreshes that failed: the loader threw, or Redis failed or did not answer (never thrown to a caller). */
  refreshFailures: number;
  /** Early refreshes not started because another caller (any instance) held the key's lease. */
  refreshSkipped: number;
  /** The Redis circuit breaker: its state now and how often it changed. */
  breaker: { state: BreakerState; opened: number; halfOpened: number; closed: number };
  /** The L1 tier's gauges and counters; null when the cache has no `l1`. */
  l1: L1Stats | null;
}

export type CacheEvent =
  | { type: 'l1-hit' | 'hit' | 'miss' | 'fill' | 'unregistered-fill' | 'stampede-wait' | 'stampede-timeout' | 'refresh' | 'refresh-failed' | 'refresh-skipped' }
  | { type: 'fill-rejected'; reason: FillRejectReason }
  | { type: 'degraded'; reason: DegradeReason }
  | ({ type: 'breaker' } & BreakerTransition)
  | L1Event;

type Counted = Omit<CacheStats, 'breaker' | 'l1'> & { breaker: Omit<CacheStats['breaker'], 'state'> };

/** Counters behind stats(); every event also goes to the optional listener (e.g. prom-client counters). */
export class CacheCounters {
  private readonly counts: Counted = {
    l1Hits: 0,
    hits: 0,
    misses: 0,
    degraded: { 'breaker-open': 0, 'redis-error': 0, 'redis-timeout': 0 },
    fills: 0,
    unregisteredFills: 0,
    fillRejected: { 'lease-lost': 0, 'too-old': 0, invalidated: 0, 'breaker-open': 0 },
    stampedeWaits: 0,
    stampedeTimeouts: 0,
    refreshes: 0,
    refreshFailures: 0,
    refreshSkipped: 0,
    breaker: { opened: 0, halfOpened: 0, closed: 0 },
  };

  constructor(private readonly listener?: (event: CacheEvent) => void) {}

  record(event: CacheEvent): void {
    const c = this.counts;
    switch (event.type) {
      case 'l1-hit': c.l1Hits++; break;
      case 'hit': c.hits++; break;
      case 'miss': c.misses++; break;
      case 'degraded': c.degraded[event.reason]++; break;
      case 'fill': c.fills++; break;
      case 'unregistered-fill': c.unregisteredFills++; break;
      case 'fill-rejected': c.fillRejected[event.reason]++; break;
      case 'stampede-wait': c.stampedeWaits++; break;
      case 'stampede-timeout': c.stampedeTimeouts++; break;
      case 'refresh': c.refreshes++; break;
      case 'refresh-failed': c.refreshFailures++; break;
      case 'refresh-skipped': c.refreshSkipped++; break;
      case 'breaker':
        if (event.to === 'open') c.breaker.opened++;
        else if (event.to === 'half-open') c.breaker.halfOpened++;
        else c.breaker.closed++;
        break;
      default: break; // L1 events: counted by the tier itself (stats().l1)
    }
    this.listener?.(event);
  }

  snapshot(breakerState: BreakerState, l1: L1Stats | null): CacheStats {
    const c = this.counts;
    return {
      ...c,
      degraded: { ...c.degraded },
      fillRejected: { ...c.fillRejected },
      breaker: { state: breakerState, ...c.breaker },
      l1,
    };
  }
}
