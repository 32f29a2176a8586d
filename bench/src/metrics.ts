/**
 * Reads evictd's own histograms from /metrics (Prometheus text format), so a latency step can be
 * split into its stages: commit -> Kafka ack (publisher) and commit -> Redis delete (invalidator).
 * Parsing and arithmetic are pure; only scrape() does I/O.
 */

export interface Histogram {
  /** Cumulative counts by upper bound (`le`), ascending; the last bound is Infinity. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;

/** The histogram `name` from an exposition, summed over all label sets; undefined if absent. */
export function parseHistogram(text: string, name: string): Histogram | undefined {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, metric, labels = '', raw] = m;
    const value = Number(raw);
    if (metric === `${name}_bucket`) {
      const le = /(?:^|,)le="([^"]+)"/.exec(labels)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
      found = true;
    } else if (metric === `${name}_sum`) sum += value;
    else if (metric === `${name}_count`) count += value;
  }
  if (!found) return undefined;
  return { buckets: [...buckets].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le), sum, count };
}

/** A gauge (or counter) summed over its label sets; undefined if absent. */
export function parseGauge(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (m?.[1] === name) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

/** What was observed between two scrapes of the same process. */
export function histogramDelta(before: Histogram | undefined, after: Histogram): Histogram {
  const earlier = new Map(before?.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - (before?.sum ?? 0),
    count: after.count - (before?.count ?? 0),
  };
}

/**
 * A process's histogram over its whole life from scrapes taken now and then, across restarts: a
 * scrape whose count went down is a new process (its counts start from zero), so it is added
 * whole. `total` is what was gathered so far (undefined before the first scrape).
 */
export class HistogramAcrossRestarts {
  #last: Histogram | undefined;
  #total: Histogram | undefined;

  add(scraped: Histogram): void {
    const delta = this.#last && scraped.count >= this.#last.count ? histogramDelta(this.#last, scraped) : scraped;
    this.#last = scraped;
    const earlier = new Map(this.#total?.buckets.map((b) => [b.le, b.count]));
    this.#total = {
      buckets: delta.buckets.map((b) => ({ le: b.le, count: b.count + (earlier.get(b.le) ?? 0) })),
      sum: delta.sum + (this.#total?.sum ?? 0),
      count: delta.count + (this.#total?.count ?? 0),
    };
  }

  get total(): Histogram | undefined {
    return this.#total;
  }
}

/** Share of the observations at most `bound`, which must be one of the bucket bounds; NaN without observations. */
export function shareAtMost(h: Histogram, bound: number): number {
  const bucket = h.buckets.find((b) => b.le === bound);
  if (!bucket) throw new RangeError(`no bucket with upper bound ${bound} (bounds: ${h.buckets.map((b) => b.le).join(', ')})`);
  return h.count > 0 ? bucket.count / h.count : NaN;
}

/** Upper bound of the bucket holding quantile q: "at most this"; Infinity if beyond the last bound. */
export function bucketQuantile(h: Histogram, q: number): number {
  if (h.count <= 0) return NaN;
  const rank = q * h.count;
  return h.buckets.find((b) => b.count >= rank)?.le ?? Infinity;
}

export async function scrape(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.text();
}
