import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, DEFAULT_BREAKER_POLICY, validateBreakerPolicy, type BreakerTransition } from './breaker.js';

const policy = { failureThreshold: 3, latencyBudgetMs: 100, timeoutMs: 500, coolDownMs: 1_000, halfOpenProbes: 1 };

function breaker() {
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker(policy, (t) => transitions.push(t));
  return { b, transitions };
}

test('opens after failureThreshold consecutive failures; a success in between resets the run', () => {
  const { b, transitions } = breaker();
  b.acquire(0)!.failed(0);
  b.acquire(0)!.failed(0);
  b.acquire(0)!.succeeded(1, 0);
  b.acquire(0)!.failed(0);
  b.acquire(0)!.failed(0);
  assert.equal(b.state, 'closed');
  b.acquire(0)!.failed(10);
  assert.equal(b.state, 'open');
  assert.deepEqual(transitions, [{ from: 'closed', to: 'open', reason: 'failures' }]);
  assert.equal(b.acquire(500), undefined, 'no call while open');
});

test('calls over the latency budget count as failures and name the reason', () => {
  const { b, transitions } = breaker();
  for (let i = 0; i < 3; i++) b.acquire(0)!.succeeded(101, 0);
  assert.equal(b.state, 'open');
  assert.equal(transitions[0]!.reason, 'slow-calls');
});

test('half-open after the cool-down lets one probe through; its success closes', () => {
  const { b, transitions } = breaker();
  for (let i = 0; i < 3; i++) b.acquire(0)!.failed(0);
  assert.equal(b.acquire(999), undefined);
  const probe = b.acquire(1_000)!;
  assert.equal(probe.probe, true);
  assert.equal(b.state, 'half-open');
  assert.equal(b.acquire(1_001), undefined, 'one probe at a time');
  probe.succeeded(5, 1_002);
  assert.equal(b.state, 'closed');
  assert.deepEqual(transitions.map((t) => `${t.to}:${t.reason}`), ['open:failures', 'half-open:cool-down', 'closed:probe-succeeded']);
  assert.equal(b.acquire(1_003)!.probe, false);
});

test('a failed probe opens again for a full cool-down', () => {
  const { b, transitions } = breaker();
  for (let i = 0; i < 3; i++) b.acquire(0)!.failed(0);
  b.acquire(1_000)!.failed(1_200);
  assert.equal(b.state, 'open');
  assert.equal(b.acquire(2_199), undefined);
  assert.ok(b.acquire(2_200));
  assert.equal(transitions.at(-2)!.reason, 'probe-failed');
});

test('a slow probe counts as failed', () => {
  const { b } = breaker();
  for (let i = 0; i < 3; i++) b.acquire(0)!.failed(0);
  b.acquire(1_000)!.succeeded(150, 1_150);
  assert.equal(b.state, 'open');
});

test('late reports of calls permitted before the breaker opened change nothing', () => {
  const { b, transitions } = breaker();
  const early = b.acquire(0)!;
  const early2 = b.acquire(0)!;
  for (let i = 0; i < 3; i++) b.acquire(0)!.failed(0);
  early.succeeded(1, 10);
  early2.failed(10);
  assert.equal(b.state, 'open');
  const probe = b.acquire(1_000)!;
  assert.equal(b.state, 'half-open');
  early.failed(1_001); // reported twice: ignored
  assert.equal(b.state, 'half-open');
  probe.succeeded(1, 1_001);
  assert.equal(b.state, 'closed');
  assert.equal(transitions.length, 3);
});

test('policy validation names the option', () => {
  assert.deepEqual(validateBreakerPolicy({ ...DEFAULT_BREAKER_POLICY }), DEFAULT_BREAKER_POLICY);
  assert.throws(() => validateBreakerPolicy({ ...DEFAULT_BREAKER_POLICY, coolDownMs: 0 }), /breaker\.coolDownMs/);
  assert.throws(() => validateBreakerPolicy({ ...DEFAULT_BREAKER_POLICY, latencyBudgetMs: 2_000 }), /latencyBudgetMs.*timeoutMs/);
});
