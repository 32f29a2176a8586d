import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Checkpoint, advancePublished, keepalivePosition, type TxnTicket } from './checkpoint.js';

const t = (pending: number, commitEndLsn: bigint | null): TxnTicket => ({ pending, commitEndLsn });

test('advancePublished stops at the first transaction Kafka has not fully confirmed', () => {
  const cases: { name: string; from: bigint; queue: TxnTicket[]; expected: bigint; left: number }[] = [
    { name: 'empty queue', from: 10n, queue: [], expected: 10n, left: 0 },
    { name: 'all delivered', from: 10n, queue: [t(0, 20n), t(0, 30n)], expected: 30n, left: 0 },
    { name: 'head pending blocks later delivered ones', from: 10n, queue: [t(1, 20n), t(0, 30n)], expected: 10n, left: 2 },
    { name: 'middle pending', from: 10n, queue: [t(0, 20n), t(2, 30n), t(0, 40n)], expected: 20n, left: 2 },
    { name: 'uncommitted head', from: 10n, queue: [t(0, null)], expected: 10n, left: 1 },
    { name: 'never backwards (resent old commit)', from: 50n, queue: [t(0, 20n)], expected: 50n, left: 0 },
  ];
  for (const c of cases) {
    assert.equal(advancePublished(c.from, c.queue), c.expected, c.name);
    assert.equal(c.queue.length, c.left, c.name);
  }
});

test('keepalivePosition moves to the WAL end only when idle, and never backwards', () => {
  assert.equal(keepalivePosition(10n, 99n, true), 99n);
  assert.equal(keepalivePosition(10n, 99n, false), 10n);
  assert.equal(keepalivePosition(100n, 99n, true), 100n);
});

function harness(start = 100n) {
  const sent: bigint[] = [];
  const cp = new Checkpoint(start, (lsn) => sent.push(lsn));
  cp.allow(1n << 62n); // marker gate open unless a test closes it
  return { cp, sent };
}

test('only commits whose events Kafka confirmed, and all commits before them, are acknowledged', () => {
  const { cp, sent } = harness();
  const a = cp.begin();
  cp.enqueued(a, 2);
  cp.commit(200n);
  const b = cp.begin();
  cp.enqueued(b);
  cp.commit(300n);
  cp.delivered(b);
  assert.equal(cp.acknowledge(), 100n, 'b is delivered but a is not');
  cp.delivered(a);
  assert.equal(cp.published, 100n);
  cp.delivered(a);
  assert.equal(cp.acknowledge(), 300n);
  assert.deepEqual(sent, [100n, 300n]);
  assert.equal(cp.flushed, 300n);
});

test('an empty transaction (all its rows filtered) is published at commit', () => {
  const { cp } = harness();
  cp.begin();
  cp.commit(150n);
  assert.equal(cp.published, 150n);
});

test('keepalives move the position only with nothing in flight', () => {
  const { cp } = harness();
  const a = cp.begin();
  cp.enqueued(a);
  cp.keepalive(500n);
  assert.equal(cp.published, 100n, 'open transaction');
  cp.commit(200n);
  cp.keepalive(600n);
  assert.equal(cp.published, 100n, 'committed but not delivered');
  cp.delivered(a);
  assert.equal(cp.published, 200n);
  cp.keepalive(700n);
  assert.equal(cp.published, 700n);
  assert.equal(cp.received, 700n);
  assert.equal(cp.acknowledge(), 700n);
});

test('the marker gate caps what is acknowledged', () => {
  const sent: bigint[] = [];
  const cp = new Checkpoint(100n, (lsn) => sent.push(lsn));
  cp.keepalive(900n);
  assert.equal(cp.acknowledge(), 100n);
  cp.allow(400n);
  assert.equal(cp.acknowledge(), 400n);
  cp.allow(300n); // an older marker confirmation never lowers the gate
  assert.equal(cp.acknowledgeable, 400n);
});

test('protocol violations throw instead of corrupting the position', () => {
  const { cp } = harness();
  assert.throws(() => cp.commit(200n), /without Begin/);
  const a = cp.begin();
  assert.throws(() => cp.begin(), /transaction is open/);
  cp.commit(200n);
  assert.throws(() => cp.delivered(a), /more deliveries/);
  cp.begin();
  assert.throws(() => cp.commit(200n), /went backwards/);
  assert.throws(() => cp.enqueued(a), /not the open one/);
});

test('restart forgets what was in flight; late Kafka acks of it do not move the position', () => {
  const { cp } = harness();
  const a = cp.begin();
  cp.enqueued(a);
  cp.commit(200n);
  cp.restart();
  cp.delivered(a);
  assert.equal(cp.published, 100n);
  // the server resends the same transaction after the reconnect
  const again = cp.begin();
  cp.enqueued(again);
  cp.commit(200n);
  cp.delivered(again);
  assert.equal(cp.published, 200n);
});
