import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownReport } from './report.js';
import type { BenchResults } from './results.js';

const results: BenchResults = {
  startedAt: '2026-01-01T00:00:00.000Z',
  durationSeconds: 120,
  environment: { node: 'v20', evictdNode: 'v24.21.0', cpus: 2, cpuModel: 'Test CPU', loadAverage: { before: 0.5, after: 1.5 }, evictdRuntime: 'dist', evictdNodeOptions: '', quick: false },
  latency: [
    { offeredPerSec: 100, achievedPerSec: 99.9, commits: 1000, unobserved: 0, p50: 2.1, p95: 4, p99: 6, max: 9, mean: 2.5 },
    { offeredPerSec: 1000, achievedPerSec: 998, commits: 10000, unobserved: 0, p50: 3.2, p95: 12, p99: 31.4, max: 80, mean: 4, stages: { commitToKafkaMeanMs: 1.5, commitToKafkaP99Ms: 10, commitToDeleteMeanMs: 3.1, commitToDeleteP99Ms: 25 } },
  ],
  throughput: { changes: 200000, seconds: 5, perSec: 40000 },
  backlog: { changes: 1000000, seconds: 30, perSec: 33333, startupSeconds: 2, publishBatches: { count: 200, meanEvents: 5000, perSec: 6.67 } },
  processes: [
    { process: 'evictd publish', phase: 'throughput', rssPeakMiB: 160.2, cpuPercent: 95, heapUsedPeakMiB: 40.5, cpuSeconds: 4.75, changes: 200000 },
    // A server's RSS is not evictd's: the target is per evictd process.
    { process: 'kafka', phase: 'throughput', rssPeakMiB: 410, cpuPercent: 20, cpuSeconds: 1, changes: 200000 },
  ],
  raw: { pgDecodeRowsPerSec: 190000, redisUnlinkPerSec: 500000, kafkaProducePerSec: 100000, kafkaConsumePerSec: 200000 },
  rawLatency: { kafkaSendRttP50Ms: 2.5, kafkaSendRttP99Ms: 9 },
  ratios: { pgDecodeRowsPerSec: 0.21, redisUnlinkPerSec: 0.08, kafkaProducePerSec: 0.4, kafkaConsumePerSec: 0.2 },
  profiles: [{ process: 'publish', phase: 'throughput', top: [{ functionName: 'parse|x', location: 'a.js:1', selfPercent: 12.3 }] }],
};

test('the report shows every load step and judges each target', () => {
  const md = markdownReport(results);
  assert.match(md, /\| 1000 \| 998 \| 10000 \| 0 \| 3\.2 \| 12 \| 31\.4 \| 80 \|/);
  assert.match(md, /p99 ≤ 25 ms at 1k txn\/s \| 31\.4 ms \| \*\*missed\*\*/);
  assert.match(md, /p50 ≤ 5 ms at 1k txn\/s \| 3\.2 ms \| met/);
  assert.match(md, /≥ 40,000 row changes\/s \| 40,000 \| met/);
  assert.match(md, /drain a 1,000,000-change backlog \(from evictd's start\) \| 30 s \(33,333\/s after the first deletion at 2 s\)/);
  assert.match(md, /one in flight\) \| 6\.67\/s of 5,000 events/);
  assert.match(md, /RSS ≤ 150 MiB per evictd process \| 160 MiB \| \*\*missed\*\*/);
  assert.match(md, /load average 0\.5 before, 1\.5 after/);
  assert.match(md, /\| evictd publish \| throughput \| 160 \| 40\.5 \| 95 \| 23\.8 \|/, 'CPU per change: 4.75 s over 200k changes');
  assert.match(md, /Node v24\.21\.0 for evictd \(v20 for the harness\)/);
  assert.match(md, /CPU profile: publish, throughput/);
  assert.match(md, /one-message kafkajs batch takes p50 2\.5 ms, p99 9 ms/);
  assert.match(md, /\| 1000 \| 1\.5 \| 10 \| 3\.1 \| 25 \|/, 'stage times of the 1k step');
  assert.doesNotMatch(md, /\| 100 \| .* \| .* \| .* \| .* \|\n\n\*\*Throughput/, 'no stage row for a step without stages');
});

test('a run without a 1k step says so instead of inventing a verdict', () => {
  const md = markdownReport({ ...results, latency: results.latency.slice(0, 1), profiles: [] });
  assert.match(md, /p99 ≤ 25 ms at 1k txn\/s \| not run \|/);
  assert.doesNotMatch(md, /CPU profile/);
});

test('truncate-1m: one row per path, p50 / max, and the 1 s target judged on the registry path', () => {
  const v = (path: 'registry' | 'scan', gone: number) => ({
    path,
    runs: [{ truncateToAllGoneMs: gone, nextChangeMs: 20, baselineChangeMs: 18 }],
    truncateToAllGone: { p50: gone, max: gone },
    nextChange: { p50: 20, max: 20 },
    baselineChange: { p50: 18, max: 18 },
  });
  const md = markdownReport({ ...results, truncate1m: { startedAt: 'x', unrelatedKeys: 1_000_000, tableKeys: 1000, observedBy: 'del notifications', variants: [v('registry', 40), v('scan', 3800)] } });
  assert.match(md, /TRUNCATE with 1,000,000 unrelated keys/);
  assert.match(md, /\| shapes [^|]+ \| 1 \| 40 \/ 40 \| 20 \/ 20 \| 18 \/ 18 \|/);
  assert.match(md, /\| old SCAN path[^|]+ \| 1 \| 3,800 \/ 3,800 \|/);
  assert.match(md, /within 1,000 ms: met \(max 40 ms\)/);
  assert.doesNotMatch(markdownReport(results), /TRUNCATE with/);
});

test('l1: the hit rows and one drop row per instance count, p50 / p99, joined to the report', () => {
  const l1 = {
    startedAt: '2026-01-02T00:00:00.000Z',
    hit: { calls: 20_000, l1: { p50: 0.0021, p99: 0.0093 }, redis: { p50: 0.182, p99: 0.41 } },
    drop: [
      { instances: 2, runs: 100, p50: 0.61, p99: 1.9, max: 2.2 },
      { instances: 8, runs: 100, p50: 1.23, p99: 4.56, max: 6 },
    ],
  };
  const md = markdownReport({ ...results, l1 });
  assert.match(md, /\*\*L1 tier\*\* \(l1, measured 2026-01-02/);
  assert.match(md, /\| getOrLoad answered by L1 \(20,000 sequential calls\) \| 0\.0021 \| 0\.0093 \|/);
  assert.match(md, /\| getOrLoad answered by a Redis GET \(no L1\) \| 0\.182 \| 0\.41 \|/);
  assert.match(md, /last of 2 instances' L1 drop \(separate processes, 100 runs\) \| 0\.61 \| 1\.9 \|/);
  assert.match(md, /last of 8 instances' L1 drop \(separate processes, 100 runs\) \| 1\.23 \| 4\.56 \|/);
  assert.doesNotMatch(markdownReport(results), /L1 tier/);
});
