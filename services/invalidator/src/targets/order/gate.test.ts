import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../observability/log.js';
import { createUpstreamGate, type CommittedOffsets } from './gate.js';

/** Committed offsets held in memory; records every fetch, and fails them while told to. */
function memoryOffsets() {
  const committed = new Map<string, bigint>();
  const fetches: { groupId: string; topics: readonly string[] }[] = [];
  let fail: unknown;
  const source: CommittedOffsets & { commit(topic: string, partition: number, offset: bigint): void; fetches: typeof fetches; failWith(err: unknown): void } = {
    fetches,
    commit: (topic, partition, offset) => void committed.set(`${topic}:${partition}`, offset),
    failWith: (err) => void (fail = err),
    async fetch(groupId, topics) {
      fetches.push({ groupId, topics });
      if (fail !== undefined) throw fail;
      return [...committed].map(([key, offset]) => {
        const [topic = '', partition = ''] = key.split(':');
        return { topic, partition: Number(partition), offset };
      }).filter((o) => topics.includes(o.topic));
    },
    async close() {},
  };
  return source;
}

const logger = createLogger('test', 'silent');
const position = (partition: number, topic = 't') => ({ groupId: 'shop', topic, partition });
const waitUntil = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 1));
};

test('chunks wait until the upstream committed past them; all waiting partitions share one fetch per poll', async () => {
  const offsets = memoryOffsets();
  const gate = createUpstreamGate({ offsets, logger, intervalMs: 5 });
  const polls: number[] = [0, 0, 0];
  const done: boolean[] = [false, false, false];
  const waits = [0, 1, 2].map((p) => gate.wait(position(p, p === 2 ? 'u' : 't'), 10n, { signal: new AbortController().signal, onPoll: () => (polls[p]! += 1) }).then(() => (done[p] = true)));
  await waitUntil(() => polls.every((n) => n >= 2));
  assert.deepEqual(done, [false, false, false]);
  assert.ok(offsets.fetches.every((f) => f.groupId === 'shop' && f.topics.join() === 't,u'), JSON.stringify(offsets.fetches.slice(0, 3)));
  // Every poll told all three chunks; a fetch may be under way for the next one.
  assert.ok(offsets.fetches.length <= Math.min(...polls) + 1, `one fetch per poll for all three chunks: ${offsets.fetches.length} fetches, ${polls.join('/')} polls`);
  offsets.commit('t', 0, 9n);
  offsets.commit('t', 1, 10n);
  await waits[1];
  assert.deepEqual(done, [false, true, false], 'offset 9 committed is not past offset 9');
  offsets.commit('t', 0, 10n);
  offsets.commit('u', 2, 12n);
  await Promise.all(waits);
  // Nobody waits: the poller is idle.
  const count = offsets.fetches.length;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(offsets.fetches.length, count, 'no polls while nothing waits');
  await gate.stop();
});

test('an upstream consumer in the same process frees its waiters without a poll; a known position frees later chunks at once', async () => {
  const offsets = memoryOffsets();
  const gate = createUpstreamGate({ offsets, logger, intervalMs: 60_000 });
  const wait = gate.wait(position(0), 100n, { signal: new AbortController().signal, onPoll: () => {} });
  gate.applied(position(0), 100n);
  await wait;
  await gate.wait(position(0), 80n, { signal: new AbortController().signal, onPoll: () => {} });
  await gate.stop();
});

test('an aborted chunk stops waiting with the abort reason and is no longer polled for', async () => {
  const offsets = memoryOffsets();
  const gate = createUpstreamGate({ offsets, logger, intervalMs: 5 });
  const controller = new AbortController();
  const wait = gate.wait(position(0), 10n, { signal: controller.signal, onPoll: () => {} });
  await waitUntil(() => offsets.fetches.length > 0);
  controller.abort(new Error('rebalancing'));
  await assert.rejects(wait, /rebalancing/);
  const count = offsets.fetches.length;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.ok(offsets.fetches.length <= count + 1, 'at most the poll already under way');
  await gate.stop();
});

test('fetch failures: retriable ones are retried with the chunk still waiting, others reject it with the reason', async () => {
  const offsets = memoryOffsets();
  let retriable = true;
  const gate = createUpstreamGate({ offsets, logger, intervalMs: 2, maxBackoffMs: 4, isRetriable: () => retriable });
  offsets.failWith(new Error('broker away'));
  let polls = 0;
  const first = gate.wait(position(0), 1n, { signal: new AbortController().signal, onPoll: () => (polls += 1) });
  await waitUntil(() => polls >= 3);
  offsets.failWith(undefined);
  offsets.commit('t', 0, 1n);
  await first;
  offsets.failWith(Object.assign(new Error('Not authorized to access group'), { type: 'GROUP_AUTHORIZATION_FAILED' }));
  retriable = false;
  await assert.rejects(gate.wait(position(0), 2n, { signal: new AbortController().signal, onPoll: () => {} }), /cannot read the committed offsets .*Not authorized to access group.*Kafka ACL/);
  await gate.stop();
});
