/**
 * Early refresh: probabilistic early expiration (XFetch; Vattani, Chierichetti, Lowenstein,
 * "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015). A reader refreshes a cached value
 * before it expires when `now - delta * beta * ln(rand()) >= expiry`, i.e. when
 * `-delta * beta * ln(rand()) >= remainingTtl`, with `delta` the time the value took to load and
 * rand() uniform in (0, 1]. Slow loads and high beta start earlier; readers far from the expiry
 * almost never refresh; among many readers near it, one tends to go first. Pure.
 */
export interface EarlyRefreshPolicy {
  /** > 0. 1 is the paper's optimum; above 1 refreshes earlier, below later. */
  beta: number;
}

export const DEFAULT_EARLY_REFRESH: EarlyRefreshPolicy = Object.freeze({ beta: 1 });

/**
 * Whether this read should refresh the value. `remainingTtlMs` is the value's PTTL (-1: no TTL,
 * never refreshed early; -2 or 0: gone); `loadTimeMs` the recorded load time (null or <= 0:
 * unknown, never early). `random` returns a number in [0, 1), as Math.random does.
 */
export function shouldRefreshEarly(remainingTtlMs: number, loadTimeMs: number | null, policy: EarlyRefreshPolicy, random: () => number = Math.random): boolean {
  if (loadTimeMs === null || !(loadTimeMs > 0) || remainingTtlMs <= 0) return false;
  // 1 - [0, 1) is (0, 1]: ln never sees 0, so the gap is finite.
  const gap = -loadTimeMs * policy.beta * Math.log(1 - random());
  return gap >= remainingTtlMs;
}

export function validateEarlyRefresh(policy: EarlyRefreshPolicy): EarlyRefreshPolicy {
  if (typeof policy.beta !== 'number' || !Number.isFinite(policy.beta) || policy.beta <= 0) {
    throw new RangeError(`createCache: earlyRefresh.beta must be a positive finite number (1 is XFetch's default), got ${String(policy.beta)}`);
  }
  return Object.freeze({ beta: policy.beta });
}

/** Parses the load-time value read from Redis (`P evictd:lt:<key>`): null unless a positive number. */
export function parseLoadTime(raw: string | Buffer | null | undefined): number | null {
  if (raw === null || raw === undefined) return null;
  const ms = Number(raw.toString());
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}
