import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './wait.js';

test('waitFor returns the first truthy value and names what it waited for on timeout', async () => {
  let calls = 0;
  assert.equal(await waitFor(() => (++calls >= 3 ? 'ready' : undefined), { timeoutMs: 1000, what: 'x', intervalMs: 1 }), 'ready');
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('not yet');
      },
      { timeoutMs: 20, what: 'the moon', intervalMs: 5 },
    ),
    /waiting for the moon \(last check: not yet\)/,
  );
});

test('waitFor stops at once when its signal aborts, with the abort reason', async () => {
  const controller = new AbortController();
  const waiting = waitFor(() => false, { timeoutMs: 60_000, what: 'never', intervalMs: 10, signal: controller.signal });
  controller.abort(new Error('server exited'));
  await assert.rejects(waiting, /server exited/);
});

test('waitFor with stopOnError ends at the first throwing check, long before its deadline', async () => {
  const started = Date.now();
  let calls = 0;
  await assert.rejects(
    waitFor(
      () => {
        if (++calls === 2) throw new Error('the child exited');
        return false;
      },
      { timeoutMs: 60_000, what: 'a child', intervalMs: 1, stopOnError: true },
    ),
    /^Error: the child exited$/,
  );
  assert.equal(calls, 2);
  assert.ok(Date.now() - started < 10_000);
});
