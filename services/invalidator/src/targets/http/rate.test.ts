import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './rate.js';
import { retriableStatus } from './send.js';

test('token bucket: one second of burst, then one token per 1/rate s', () => {
  let now = 0;
  const bucket = new TokenBucket(5, () => now);
  for (let i = 0; i < 5; i++) assert.equal(bucket.tryTake(), 0);
  assert.equal(bucket.tryTake(), 200);
  now += 100;
  assert.equal(bucket.tryTake(), 100);
  now += 100;
  assert.equal(bucket.tryTake(), 0);
  now += 60_000; // a long quiet spell saves up one second's worth, no more
  for (let i = 0; i < 5; i++) assert.equal(bucket.tryTake(), 0);
  assert.ok(bucket.tryTake() > 0);
});

test('token bucket: rate 0 never waits; fractional rates wait whole periods', () => {
  const free = new TokenBucket(0, () => 0);
  for (let i = 0; i < 1000; i++) assert.equal(free.tryTake(), 0);
  let now = 0;
  const slow = new TokenBucket(0.5, () => now);
  assert.equal(slow.tryTake(), 0);
  assert.equal(slow.tryTake(), 2000);
  now += 2000;
  assert.equal(slow.tryTake(), 0);
});

test('retry classification: 408, 425, 429 and 5xx are retried; other statuses are config problems', () => {
  for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal(retriableStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 405, 413]) assert.equal(retriableStatus(s), false, String(s));
});
