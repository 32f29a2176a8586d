import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LandingLog, latencyTimeline, lowerBound, matchLandings } from './landing.js';

test('lowerBound finds the first element at or after a value', () => {
  assert.equal(lowerBound([1, 3, 3, 5], 3), 1);
  assert.equal(lowerBound([1, 3, 3, 5], 4), 3);
  assert.equal(lowerBound([1, 3, 3, 5], 0), 0);
  assert.equal(lowerBound([1, 3, 3, 5], 6), 4);
  assert.equal(lowerBound([], 1), 0);
});

test('each commit matches the first landing of its key at or after it', () => {
  const log = new LandingLog();
  log.record('a', 105);
  log.record('b', 111);
  log.record('a', 230);
  const m = matchLandings(
    [
      { key: 'a', commitMs: 100 }, // -> 105
      { key: 'a', commitMs: 200 }, // -> 230, not the earlier 105
      { key: 'b', commitMs: 110.5 }, // -> 111
    ],
    log.map,
  );
  assert.deepEqual(m, { latencies: [5, 30, 0.5], unmatched: 0 });
});

test('a landing before the commit does not count; keys never seen are unmatched', () => {
  const log = new LandingLog();
  log.record('a', 50);
  const m = matchLandings([{ key: 'a', commitMs: 100 }, { key: 'zz', commitMs: 1 }], log.map);
  assert.deepEqual(m, { latencies: [], unmatched: 2 });
});

test('LandingLog keeps each key sorted even when observations arrive out of order', () => {
  const log = new LandingLog();
  for (const t of [10, 30, 20, 5]) log.record('k', t);
  assert.deepEqual(log.map.get('k'), [5, 10, 20, 30]);
  assert.equal(log.count, 4);
  log.clear();
  assert.equal(log.count, 0);
  assert.equal(log.map.size, 0);
});

test('the timeline groups commits by commit time and keeps empty buckets', () => {
  const log = new LandingLog();
  log.record('a', 1_010);
  log.record('b', 1_500);
  log.record('c', 25_000);
  const commits = [
    { key: 'a', commitMs: 1_000 }, // bucket 0: 10 ms
    { key: 'b', commitMs: 1_100 }, // bucket 0: 400 ms
    { key: 'c', commitMs: 21_000 }, // bucket 2: 4000 ms
    { key: 'x', commitMs: 22_000 }, // bucket 2: never landed
  ];
  assert.deepEqual(latencyTimeline(commits, log.map, 0, 10), [
    { fromS: 0, commits: 2, landed: 2, p50Ms: 10, maxMs: 400 },
    { fromS: 10, commits: 0, landed: 0, p50Ms: null, maxMs: null },
    { fromS: 20, commits: 2, landed: 1, p50Ms: 4000, maxMs: 4000 },
  ]);
  assert.throws(() => latencyTimeline(commits, log.map, 0, 0), /positive/);
});
