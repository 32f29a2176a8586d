import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nines, percentile, round, shareWithin, summarize } from './stats.js';

test('percentile uses nearest rank on the sorted sample', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile([7], 50), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
});

test('percentile rejects empty samples and out-of-range p', () => {
  assert.throws(() => percentile([], 50), /empty/);
  assert.throws(() => percentile([1], 0), /\(0, 100\]/);
  assert.throws(() => percentile([1], 101), /\(0, 100\]/);
});

test('summarize sorts numerically, not as strings', () => {
  const s = summarize([10, 9, 100, 2, 1]);
  assert.deepEqual(
    { min: s.min, p50: s.p50, max: s.max, count: s.count, mean: s.mean },
    { min: 1, p50: 9, max: 100, count: 5, mean: 24.4 },
  );
  assert.throws(() => summarize([]), /nothing was measured/);
});

test('shareWithin counts unobserved events as late', () => {
  assert.equal(shareWithin([5, 50, 500], 100), 2 / 3);
  assert.equal(shareWithin([5, 50], 100, 4), 0.5);
  assert.equal(shareWithin([100], 100), 1);
  assert.throws(() => shareWithin([1, 2], 10, 1), /only 1 events/);
});

test('nines turns shares into -log10(miss rate), with a bound for a perfect sample', () => {
  assert.ok(Math.abs(nines(0.999, 10).nines - 3) < 1e-9);
  assert.equal(nines(0.999, 10).lowerBound, false);
  assert.deepEqual(nines(1, 10_000), { nines: 4, lowerBound: true });
  assert.equal(nines(0, 10).nines, 0);
  assert.throws(() => nines(1.5, 10), /\[0, 1\]/);
});

test('round keeps 3 significant digits for small values', () => {
  assert.equal(round(1.23456), 1.23);
  assert.equal(round(0.0012345), 0.00123);
  assert.equal(round(12345.6), 12346);
});
