import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WAIT_POLICY, nextPollDelay, validateWaitPolicy } from './stampede.js';

const policy = { waitMs: 100, pollMinMs: 2, pollMaxMs: 16 };

test('poll delays start small, double, and stop growing at the cap', () => {
  const delays: number[] = [];
  let d = 0;
  for (let i = 0; i < 6; i++) delays.push((d = nextPollDelay(d, 1000, policy)));
  assert.deepEqual(delays, [2, 4, 8, 16, 16, 16]);
});

test('a poll never sleeps past the deadline', () => {
  assert.equal(nextPollDelay(16, 3, policy), 3);
  assert.equal(nextPollDelay(16, 0, policy), 0);
});

test('wait policy validation names the setting', () => {
  assert.equal(validateWaitPolicy(DEFAULT_WAIT_POLICY), DEFAULT_WAIT_POLICY);
  assert.throws(() => validateWaitPolicy({ ...policy, waitMs: -1 }), /stampede\.waitMs must be a non-negative/);
  assert.throws(() => validateWaitPolicy({ ...policy, pollMinMs: 32 }), /stampede\.pollMinMs \(32\) must be > 0 and <= stampede\.pollMaxMs \(16\)/);
});
