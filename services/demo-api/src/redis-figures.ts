/**
 * The page's Redis panel: evictd's Redis INFO figures (`evictd_redis_*` on the /metrics of
 * `evictd invalidate` or `run`), scraped every few seconds and reported on the event stream as
 * `redis`. Parsing and the report are pure; only watchEvictdRedis() does I/O.
 */

/** The metrics the panel reads, by the field each fills. */
const METRICS = {
  evictd_redis_used_memory_bytes: 'usedMemoryBytes',
  /** 0: no limit; its `policy` label is the maxmemory policy. */
  evictd_redis_maxmemory_bytes: 'maxmemoryBytes',
  evictd_redis_evicted_keys_total: 'evictedKeys',
  evictd_redis_keyspace_hits_total: 'keyspaceHits',
  evictd_redis_keyspace_misses_total: 'keyspaceMisses',
} as const;

type Metric = keyof typeof METRICS;

/** A metric that is absent is null. */
export type EvictdRedisFigures = Record<(typeof METRICS)[Metric], number | null> & { maxmemoryPolicy: string | null };

export type RedisReport =
  | (Omit<EvictdRedisFigures, 'evictedKeys'> & {
      ok: true;
      at: number;
      /** From the evicted-keys counter's change since the previous scrape; null on the first. */
      evictionsPerSecond: number | null;
      /** keyspace hits / (hits + misses), 0..1; null before any lookup. */
      hitRatio: number | null;
    })
  | { ok: false; at: number; error: string };

/** `name{labels} value` lines of the Prometheus text format (comments and blanks skipped). */
const LINE = /^(evictd_redis_[a-z_]+)(?:\{([^}]*)\})?\s+(\S+)/;

/** Pure: the evictd_redis_* figures of a /metrics text; a metric that is absent is null. */
export function parseEvictdRedisMetrics(text: string): EvictdRedisFigures {
  const figures: EvictdRedisFigures = { usedMemoryBytes: null, maxmemoryBytes: null, maxmemoryPolicy: null, evictedKeys: null, keyspaceHits: null, keyspaceMisses: null };
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m || !Object.hasOwn(METRICS, m[1]!)) continue;
    const field = METRICS[m[1] as Metric];
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    figures[field] = value;
    if (field === 'maxmemoryBytes') figures.maxmemoryPolicy = /(?:^|,)\s*policy="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? null;
  }
  return figures;
}

/** Pure: the panel's report from this scrape and the previous one (for the eviction rate). */
export function redisReport(now: { at: number; figures: EvictdRedisFigures }, previous: { at: number; figures: EvictdRedisFigures } | null): RedisReport {
  const f = now.figures;
  const before = previous?.figures.evictedKeys;
  const seconds = previous ? (now.at - previous.at) / 1000 : 0;
  // A counter that went down (evictd restarted) gives no rate for this interval.
  const evictionsPerSecond = f.evictedKeys !== null && before !== undefined && before !== null && seconds > 0 && f.evictedKeys >= before ? (f.evictedKeys - before) / seconds : null;
  const lookups = (f.keyspaceHits ?? 0) + (f.keyspaceMisses ?? 0);
  return {
    ok: true,
    at: now.at,
    usedMemoryBytes: f.usedMemoryBytes,
    maxmemoryBytes: f.maxmemoryBytes,
    maxmemoryPolicy: f.maxmemoryPolicy,
    evictionsPerSecond,
    hitRatio: f.keyspaceHits !== null && lookups > 0 ? f.keyspaceHits / lookups : null,
    keyspaceHits: f.keyspaceHits,
    keyspaceMisses: f.keyspaceMisses,
  };
}

export const REDIS_SCRAPE_EVERY_MS = 5_000;
const SCRAPE_TIMEOUT_MS = 2_000;

/**
 * Scrapes `<url>/metrics` now and every few seconds (bounded by a timeout) and hands each report
 * on; a failed scrape is a report too (`ok: false`), never an exception. stop() ends it.
 */
export function watchEvictdRedis(options: { url: string; everyMs?: number; onReport(report: RedisReport): void }): { stop(): void; latest(): RedisReport | null } {
  let stopped = false;
  let previous: { at: number; figures: EvictdRedisFigures } | null = null;
  let latest: RedisReport | null = null;
  let running = false;
  const scrapeOnce = async () => {
    if (running || stopped) return;
    running = true;
    try {
      const res = await fetch(`${options.url}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const now = { at: Date.now(), figures: parseEvictdRedisMetrics(await res.text()) };
      if (now.figures.usedMemoryBytes === null) throw new Error('no evictd_redis_* figures (is it `evictd invalidate` or `run`?)');
      latest = redisReport(now, previous);
      previous = now;
    } catch (err) {
      latest = { ok: false, at: Date.now(), error: `evictd /metrics: ${(err as Error).message}` };
    } finally {
      running = false;
    }
    if (!stopped) options.onReport(latest);
  };
  const timer = setInterval(() => void scrapeOnce(), options.everyMs ?? REDIS_SCRAPE_EVERY_MS);
  timer.unref();
  void scrapeOnce();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    latest: () => latest,
  };
}
