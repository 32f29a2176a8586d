import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, retry } from './retry.js';
import { EvictdError } from './errors.js';

test('backoffDelay doubles per attempt, caps at max, and jitters within [base/2, base]', () => {
  assert.equal(backoffDelay(1, 100, 1000, () => 1), 100);
  assert.equal(backoffDelay(1, 100, 1000, () => 0), 50);
  assert.equal(backoffDelay(3, 100, 1000, () => 1), 400);
  assert.equal(backoffDelay(10, 100, 1000, () => 1), 1000);
});

test('retry retries retriable errors until success', async () => {
  let calls = 0;
  const result = await retry(
    async () => {
      calls++;
      if (calls < 3) throw new EvictdError('X', 'flaky', { retriable: true });
      return 'ok';
    },
    { minDelayMs: 1, maxDelayMs: 2 },
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
});

test('retry does not retry unknown or fatal errors', async () => {
  let calls = 0;
  await assert.rejects(
    retry(async () => {
      calls++;
      throw new Error('bug');
    }),
    /bug/,
  );
  assert.equal(calls, 1);
});

test('retry gives up after maxAttempts and rethrows the last error', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw new EvictdError('X', `attempt ${calls}`, { retriable: true });
      },
      { minDelayMs: 1, maxDelayMs: 1, maxAttempts: 3 },
    ),
    /attempt 3/,
  );
  assert.equal(calls, 3);
});

test('retry stops when the signal aborts during backoff', async () => {
  const controller = new AbortController();
  let calls = 0;
  const started = retry(
    async () => {
      calls++;
      throw new EvictdError('X', 'down', { retriable: true });
    },
    { minDelayMs: 60_000, maxDelayMs: 60_000, signal: controller.signal },
  );
  controller.abort();
  await assert.rejects(started, /down/);
  assert.equal(calls, 1);
});
