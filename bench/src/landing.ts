/**
 * Matching commits to the moments their invalidation landed in Redis. Pure.
 * A commit's invalidation has landed at the first deletion (or marker write) of its key at or after
 * the commit: from then on the cache cannot serve, nor be filled with, a value older than the commit.
 * A redelivered duplicate of an older change that lands after a newer commit therefore counts for it.
 */

export interface Commit {
  key: string;
  /** Wall-clock commit time, milliseconds since the epoch (sub-millisecond precision allowed). */
  commitMs: number;
}

export interface LandingMatch {
  /** Milliseconds from commit to landing, one per matched commit, in commit input order. */
  latencies: number[];
  /** Commits whose key never showed a landing after them. */
  unmatched: number;
}

/** Index of the first element >= value in an ascending array (its length if none). */
export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `landings` maps each key to its landing times in ascending order. */
export function matchLandings(commits: Iterable<Commit>, landings: ReadonlyMap<string, readonly number[]>): LandingMatch {
  const latencies: number[] = [];
  let unmatched = 0;
  for (const { key, commitMs } of commits) {
    const times = landings.get(key);
    const i = times ? lowerBound(times, commitMs) : 0;
    if (times && i < times.length) latencies.push(times[i]! - commitMs);
    else unmatched += 1;
  }
  return { latencies, unmatched };
}

/** Collects landing times per key as they are observed (observations arrive in time order). */
export class LandingLog {
  readonly #times = new Map<string, number[]>();
  #count = 0;

  record(key: string, atMs: number): void {
    const list = this.#times.get(key);
    if (list === undefined) this.#times.set(key, [atMs]);
    else if (atMs >= list[list.length - 1]!) list.push(atMs);
    else list.splice(lowerBound(list, atMs), 0, atMs); // rare: out-of-order delivery from two connections
    this.#count += 1;
  }

  get count(): number {
    return this.#count;
  }

  get map(): ReadonlyMap<string, readonly number[]> {
    return this.#times;
  }

  clear(): void {
    this.#times.clear();
    this.#count = 0;
  }
}

export interface TimelineBucket {
  /** Seconds after `startMs` at which the bucket's commits begin. */
  fromS: number;
  commits: number;
  /** Commits whose landing was seen; the rest never were. */
  landed: number;
  p50Ms: number | null;
  maxMs: number | null;
}

/** Commit -> landing latency by commit time, in buckets of `bucketS` seconds: where a backlog built up and drained. */
export function latencyTimeline(commits: readonly Commit[], landings: ReadonlyMap<string, readonly number[]>, startMs: number, bucketS: number): TimelineBucket[] {
  if (!(bucketS > 0)) throw new RangeError(`bucket must be positive, got ${bucketS}`);
  const buckets: Commit[][] = [];
  for (const c of commits) {
    const i = Math.max(0, Math.floor((c.commitMs - startMs) / 1000 / bucketS));
    (buckets[i] ??= []).push(c);
  }
  return Array.from(buckets, (group = [], i) => {
    const { latencies } = matchLandings(group, landings);
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      fromS: i * bucketS,
      commits: group.length,
      landed: sorted.length,
      p50Ms: sorted.length ? sorted[Math.ceil(sorted.length / 2) - 1]! : null,
      maxMs: sorted.length ? sorted[sorted.length - 1]! : null,
    };
  });
}
