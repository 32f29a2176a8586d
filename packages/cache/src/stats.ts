/** Why a fill was dropped (the loaded value is still returned to the caller). */
export const FILL_REJECT_REASONS = ['lease-lost', 'too-old', 'invalidated'] as const;
export type FillRejectReason = (typeof FILL_REJECT_REASONS)[number];

export interface CacheStats {
  /** Calls answered from Redis, including after waiting for another caller's fill. */
  hits: number;
  /** Calls that ran their loader. */
  misses: number;
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
}

export type CacheEvent =
  | { type: 'hit' | 'miss' | 'fill' | 'unregistered-fill' | 'stampede-wait' | 'stampede-timeout' }
  | { type: 'fill-rejected'; reason: FillRejectReason };

/** Counters behind stats(); every event also goes to the optional listener (e.g. prom-client counters). */
export class CacheCounters {
  private readonly counts: CacheStats = {
    hits: 0,
    misses: 0,
    fills: 0,
    unregisteredFills: 0,
    fillRejected: { 'lease-lost': 0, 'too-old': 0, invalidated: 0 },
    stampedeWaits: 0,
    stampedeTimeouts: 0,
  };

  constructor(private readonly listener?: (event: CacheEvent) => void) {}

  record(event: CacheEvent): void {
    const c = this.counts;
    switch (event.type) {
      case 'hit': c.hits++; break;
      case 'miss': c.misses++; break;
      case 'fill': c.fills++; break;
      case 'unregistered-fill': c.unregisteredFills++; break;
      case 'fill-rejected': c.fillRejected[event.reason]++; break;
      case 'stampede-wait': c.stampedeWaits++; break;
      case 'stampede-timeout': c.stampedeTimeouts++; break;
    }
    this.listener?.(event);
  }

  snapshot(): CacheStats {
    return { ...this.counts, fillRejected: { ...this.counts.fillRejected } };
  }
}
