import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readiness } from './readiness.js';

test('not ready until every role runs, with what each start-up waits for; not ready again while stopping', () => {
  let now = 1_000;
  const readiness = new Readiness(['publish', 'invalidate'], () => now);
  assert.deepEqual(readiness.report().detail.state, 'starting');
  assert.equal(readiness.report().ok, false);

  const reporter = readiness.starting('publish');
  now += 2_500;
  reporter.retrying(new Error('preparing logical replication: cannot reach PostgreSQL (ECONNREFUSED)'), 3);
  const starting = readiness.report();
  assert.equal(starting.ok, false);
  assert.deepEqual(starting.detail.roles, [
    { role: 'publish', ok: false, detail: { state: 'starting', forMs: 2_500, attempts: 3, waitingFor: 'preparing logical replication: cannot reach PostgreSQL (ECONNREFUSED)' } },
    { role: 'invalidate', ok: false, detail: { state: 'waiting', reason: 'starts after the roles before it' } },
  ]);

  let invalidatorOk = false;
  readiness.running({ name: 'publish', health: () => ({ ok: true, detail: { connected: true } }) });
  readiness.starting('invalidate');
  readiness.running({ name: 'invalidate', health: () => ({ ok: invalidatorOk, detail: {} }) });
  assert.equal(readiness.report().ok, false, 'a running role that is unhealthy keeps the process unhealthy');
  invalidatorOk = true;
  assert.deepEqual(readiness.report(), { ok: true, detail: { state: 'running', roles: [{ role: 'publish', ok: true, detail: { connected: true } }, { role: 'invalidate', ok: true, detail: {} }] } });

  readiness.stopping();
  assert.equal(readiness.report().ok, false);
  assert.equal(readiness.report().detail.state, 'stopping');
});
