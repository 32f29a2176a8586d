import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faultRecoveries, outsideRecoveryWindows, recoveryByTarget } from './recovery.js';

const landings = new Map<string, number[]>([
  ['a', [1_050, 12_500]],
  ['b', [12_100]],
  ['c', [30_000]],
]);

test('backlog: commits before the part answered whose landing came after; first and last landing from the answer', () => {
  const commits = [
    { key: 'a', commitMs: 1_000 }, // landed at 1,050, before the fault: not backlog
    { key: 'b', commitMs: 6_000 }, // during the window, lands at 12,100
    { key: 'a', commitMs: 9_000 }, // during the window, lands at 12,500
    { key: 'c', commitMs: 11_000 }, // after the answer: not backlog
  ];
  const [r] = faultRecoveries([{ target: 'kafka', from: 5_000, to: 10_000 }], commits, landings, 0);
  assert.deepEqual(r, { target: 'kafka', fromS: 5, toS: 10, backlog: 2, firstMs: 2_100, drainedMs: 2_500, neverLanded: 0, overlapped: false });
});

test('a backlog commit never seen landing leaves the backlog undrained; another window meanwhile marks both overlapped', () => {
  const commits = [{ key: 'b', commitMs: 6_000 }, { key: 'zz', commitMs: 7_000 }];
  const rs = faultRecoveries(
    [{ target: 'redis', from: 5_000, to: 10_000 }, { target: 'invalidator', from: 11_000, to: 12_000 }],
    commits,
    landings,
    0,
  );
  assert.equal(rs[0]!.drainedMs, null);
  assert.equal(rs[0]!.firstMs, 2_100);
  assert.equal(rs[0]!.neverLanded, 1);
  assert.equal(rs[0]!.overlapped, true, 'the invalidator went down before the redis backlog landed');
  assert.equal(rs[1]!.overlapped, true);
  const by = recoveryByTarget(rs);
  assert.deepEqual(by.map((b) => [b.target, b.faults, b.alone]), [['redis', 1, 0], ['invalidator', 1, 0]]);
});

test('per target figures are over faults that recovered alone; outside-window commits exclude kill..drained', () => {
  const commits = [{ key: 'b', commitMs: 6_000 }, { key: 'a', commitMs: 9_000 }, { key: 'c', commitMs: 13_000 }, { key: 'c', commitMs: 20_000 }];
  const rs = faultRecoveries([{ target: 'kafka', from: 5_000, to: 10_000 }], commits, landings, 0);
  const [k] = recoveryByTarget(rs);
  assert.deepEqual(k, { target: 'kafka', faults: 1, alone: 1, firstMs: { p50: 2_100, max: 2_100 }, drainedMs: { p50: 2_500, max: 2_500 } });
  // window 5,000..12,500: the commit at 13,000 and 20,000 are outside it
  assert.deepEqual(outsideRecoveryWindows(commits, rs, 0).map((c) => c.commitMs), [13_000, 20_000]);
});

test('no backlog (a Postgres restart: nothing committed while it was down): drained at once, first = the next change landing', () => {
  const commits = [{ key: 'a', commitMs: 1_000 }, { key: 'c', commitMs: 29_000 }];
  const [r] = faultRecoveries([{ target: 'kafka', from: 5_000, to: 10_000 }], commits, landings, 0);
  assert.equal(r!.backlog, 0);
  assert.equal(r!.drainedMs, 0);
  assert.equal(r!.firstMs, 20_000);
});
