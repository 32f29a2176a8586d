import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
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
  const steps: OutageState[] = [];
  // A clock that moves on by 1 ms at every read, so two reads that should be one instant differ.
  const realNow = Date.now.bind(Date);
  let reads = 0;
  mock.method(Date, 'now', () => realNow() + reads++);
  const outage = createOutage(
    { stop: async () => void calls.push('stop'), start: async () => void calls.push('start') },
    (s) => steps.push(s),
    pino({ level: 'silent' }),
  );
  assert.equal(outage.begin(1), true);
  assert.equal(outage.begin(1), false);
  await outage.settle();
  assert.deepEqual(calls, ['stop', 'start']);
  assert.deepEqual(
    steps.map((s) => s.state),
    ['stopping', 'stopped', 'starting', 'started'],
  );
  // Every step carries when the outage began, and those after the stop when Redis went down, so
  // a page that saw only the last step still tells how long Redis was down.
  const [stopping, stopped, , started] = steps as [OutageState, OutageState, OutageState, OutageState];
  assert.ok(steps.every((s) => s.began === stopping.at));
  assert.equal(stopping.stoppedAt, undefined);
  assert.equal(started.stoppedAt, stopped.at);
  // Redis stayed down for the requested second (a Node timer may fire up to 1 ms early by Date.now()).
  assert.ok(started.at - stopped.at >= 999, `Redis was down ${started.at - stopped.at} ms, asked for 1000`);
  assert.equal(outage.running, false);
});
