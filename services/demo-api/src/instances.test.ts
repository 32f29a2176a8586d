import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createOutage, l1Report, type OutageState } from './instances.js';

test('L1 drops and non-empty flushes are reported with the instance and time; the rest is not', () => {
  assert.deepEqual(l1Report('B', { type: 'l1-drop', key: 'product:6' }, 42), { instance: 'B', at: 42, key: 'product:6' });
  assert.deepEqual(l1Report('A', { type: 'l1-flush', reason: 'tracking-lost', entries: 3 }, 7), { instance: 'A', at: 7, flush: 'tracking-lost', entries: 3 });
  assert.equal(l1Report('A', { type: 'l1-flush', reason: 'tracking-restored', entries: 0 }, 7), null);
  assert.equal(l1Report('A', { type: 'l1-hit' }, 7), null);
});

test('one outage at a time: stop, wait, start, each step reported; a second request while it runs is refused', async () => {
  const calls: string[] = [];
  const states: OutageState['state'][] = [];
  const outage = createOutage(
    { stop: async () => void calls.push('stop'), start: async () => void calls.push('start') },
    (s) => states.push(s.state),
    pino({ level: 'silent' }),
  );
  assert.equal(outage.begin(1), true);
  assert.equal(outage.begin(1), false);
  await outage.settle();
  assert.deepEqual(calls, ['stop', 'start']);
  assert.deepEqual(states, ['stopping', 'stopped', 'starting', 'started']);
  assert.equal(outage.running, false);
});
