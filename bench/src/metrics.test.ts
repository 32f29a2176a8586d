import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketQuantile, histogramDelta, HistogramAcrossRestarts, parseGauge, parseHistogram, shareAtMost } from './metrics.js';

const text = (n: number) => `# HELP lag_seconds x
# TYPE lag_seconds histogram
lag_seconds_bucket{le="0.005",service="evictd"} ${n}
lag_seconds_bucket{le="0.01",service="evictd"} ${2 * n}
lag_seconds_bucket{le="+Inf",service="evictd"} ${3 * n}
lag_seconds_sum{service="evictd"} ${0.02 * n}
lag_seconds_count{service="evictd"} ${3 * n}
other_total 5
`;

test('a histogram is read with its buckets in order, +Inf last', () => {
  assert.deepEqual(parseHistogram(text(10), 'lag_seconds'), {
    buckets: [
      { le: 0.005, count: 10 },
      { le: 0.01, count: 20 },
      { le: Infinity, count: 30 },
    ],
    sum: 0.2,
    count: 30,
  });
  assert.equal(parseHistogram(text(1), 'missing_seconds'), undefined);
});

test('the delta between two scrapes holds only what happened in between', () => {
  const d = histogramDelta(parseHistogram(text(10), 'lag_seconds'), parseHistogram(text(30), 'lag_seconds')!);
  assert.deepEqual(d.buckets.map((b) => b.count), [20, 40, 60]);
  assert.equal(d.count, 60);
  assert.ok(Math.abs(d.sum - 0.4) < 1e-9);
});

test('bucketQuantile answers with the bucket bound that holds the quantile', () => {
  const h = parseHistogram(text(10), 'lag_seconds')!;
  assert.equal(bucketQuantile(h, 0.3), 0.005);
  assert.equal(bucketQuantile(h, 0.5), 0.01);
  assert.equal(bucketQuantile(h, 0.99), Infinity);
  assert.ok(Number.isNaN(bucketQuantile({ buckets: [], sum: 0, count: 0 }, 0.5)));
});

test('a gauge is summed over its label sets, and a prefix of another name does not count', () => {
  const t = 'heap_used_bytes{space="a"} 10\nheap_used_bytes{space="b"} 5\nheap_used_bytes_total 99\n# heap_used_bytes 7\n';
  assert.equal(parseGauge(t, 'heap_used_bytes'), 15);
  assert.equal(parseGauge(t, 'missing'), undefined);
});

test('a histogram gathered across restarts adds the deltas, and a scrape whose count went down whole', () => {
  const life = new HistogramAcrossRestarts();
  assert.equal(life.total, undefined);
  life.add(parseHistogram(text(10), 'lag_seconds')!);
  life.add(parseHistogram(text(30), 'lag_seconds')!); // +20 / +40 / +60
  life.add(parseHistogram(text(2), 'lag_seconds')!); // restarted: 2 / 4 / 6 since
  assert.deepEqual(life.total!.buckets.map((b) => b.count), [32, 64, 96]);
  assert.equal(life.total!.count, 96);
  assert.equal(shareAtMost(life.total!, 0.005), 1 / 3);
  assert.equal(shareAtMost(life.total!, Infinity), 1);
  assert.throws(() => shareAtMost(life.total!, 0.1), /no bucket with upper bound 0\.1/);
  assert.ok(Number.isNaN(shareAtMost({ buckets: [{ le: 1, count: 0 }], sum: 0, count: 0 }, 1)));
});
