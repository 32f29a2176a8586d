import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_EARLY_REFRESH, parseLoadTime, shouldRefreshEarly, validateEarlyRefresh } from './refresh.js';

const beta1 = DEFAULT_EARLY_REFRESH;

test('XFetch: refreshes exactly when -delta * beta * ln(rand) reaches the remaining TTL', () => {
  // rand() = 1 - e^-1 makes -ln(1 - rand) = 1: the gap equals delta * beta.
  const r = () => 1 - Math.exp(-1);
  assert.equal(shouldRefreshEarly(100, 100, beta1, r), true);
  assert.equal(shouldRefreshEarly(101, 100, beta1, r), false);
  assert.equal(shouldRefreshEarly(199, 100, { beta: 2 }, r), true);
  assert.equal(shouldRefreshEarly(201, 100, { beta: 2 }, r), false);
  assert.equal(shouldRefreshEarly(51, 100, { beta: 0.5 }, r), false);
});

test('XFetch: the refresh probability near expiry follows e^(-ttl / (delta * beta))', () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const [ttl, delta, beta] of [[100, 100, 1], [300, 100, 1], [300, 100, 3], [1000, 10, 1]] as const) {
    let yes = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (shouldRefreshEarly(ttl, delta, { beta }, rand)) yes++;
    const expected = Math.exp(-ttl / (delta * beta));
    assert.ok(Math.abs(yes / n - expected) < 0.015, `ttl ${ttl} delta ${delta} beta ${beta}: ${yes / n} vs ${expected}`);
  }
});

test('XFetch: never early without a load time, for a value without TTL, or one already gone; rand() = 0 is safe', () => {
  const always = () => 0.999999999;
  assert.equal(shouldRefreshEarly(10, null, beta1, always), false);
  assert.equal(shouldRefreshEarly(10, 0, beta1, always), false);
  assert.equal(shouldRefreshEarly(-1, 50, beta1, always), false);
  assert.equal(shouldRefreshEarly(-2, 50, beta1, always), false);
  assert.equal(shouldRefreshEarly(0, 50, beta1, always), false);
  assert.equal(shouldRefreshEarly(10, 50, beta1, () => 0), false); // -ln(1) = 0 < 10
});

test('earlyRefresh.beta must be positive and finite; load times parse strictly', () => {
  for (const beta of [0, -1, Number.NaN, Infinity]) assert.throws(() => validateEarlyRefresh({ beta }), /earlyRefresh\.beta must be a positive/);
  assert.deepEqual(validateEarlyRefresh({ beta: 2 }), { beta: 2 });
  assert.equal(parseLoadTime(Buffer.from('12.5')), 12.5);
  assert.equal(parseLoadTime('7'), 7);
  for (const raw of [null, undefined, 'x', '0', '-3', '']) assert.equal(parseLoadTime(raw), null);
});
