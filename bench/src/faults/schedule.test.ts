import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_FAULT_TARGETS, countByTarget, FAULT_RESOURCE, FAULT_TARGETS, faultSchedule, seededRandom, type Fault } from './schedule.js';

test('seededRandom is reproducible and spread over [0, 1)', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(mean > 0.45 && mean < 0.55, `mean ${mean}`);
  assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, seededRandom(43)));
  assert.throws(() => seededRandom(1.5), /integer/);
});

const options = { seed: 7, durationMs: 60_000, gapMs: [2_000, 6_000], downMs: [500, 8_000] } as const;

test('same seed, same faults; another seed, other faults', () => {
  assert.deepEqual(faultSchedule(options), faultSchedule(options));
  assert.notDeepEqual(faultSchedule(options), faultSchedule({ ...options, seed: 8 }));
});

test('faults stay inside the window, in order, and never hit a target that is still down', () => {
  for (let seed = 0; seed < 50; seed += 1) {
    const faults = faultSchedule({ ...options, seed });
    assert.ok(faults.length > 0);
    let last = -1;
    const downUntil = new Map<string, number>();
    for (const f of faults) {
      assert.ok(f.atMs > last, 'ordered by start');
      last = f.atMs;
      assert.ok(f.atMs + f.downMs <= options.durationMs, 'restarted before the end');
      const resource = FAULT_RESOURCE[f.target];
      if (resource === null) {
        assert.equal(f.downMs, 0, 'a TRUNCATE takes nothing down');
        continue;
      }
      assert.ok(f.downMs >= 500 && f.downMs <= 8_000);
      assert.ok((downUntil.get(resource) ?? 0) <= f.atMs, `${resource} hit by ${f.target} while down (seed ${seed})`);
      downUntil.set(resource, f.atMs + f.downMs);
    }
  }
});

test('every default target gets hit over a long enough run, and postgres only when asked for', () => {
  const counts = countByTarget(faultSchedule({ ...options, durationMs: 600_000 }));
  for (const target of FAULT_TARGETS) assert.ok(counts[target] > 0, `${target} never hit`);
  assert.equal(counts.postgres, 0, 'a Postgres restart is opt-in: the default schedule (and so every seed) is unchanged');
  const all = countByTarget(faultSchedule({ ...options, durationMs: 600_000, targets: ALL_FAULT_TARGETS }));
  for (const target of ALL_FAULT_TARGETS) assert.ok(all[target] > 0, `${target} never hit with every kind asked for`);
});

test('targets can be restricted, and bad ranges are refused', () => {
  const faults: Fault[] = faultSchedule({ ...options, targets: ['redis'] });
  assert.ok(faults.every((f) => f.target === 'redis'));
  assert.throws(() => faultSchedule({ ...options, gapMs: [5, 1] }), /gapMs/);
  assert.throws(() => faultSchedule({ ...options, gapMs: [0, 0] }), /never advances/);
  assert.throws(() => faultSchedule({ ...options, targets: [] }), /at least one/);
});
