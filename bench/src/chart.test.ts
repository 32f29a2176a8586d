import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, latencyChart, logTicks } from './chart.js';
import type { LatencyStep } from './results.js';

const step = (offeredPerSec: number, p50: number, p99: number): LatencyStep => ({
  offeredPerSec,
  achievedPerSec: offeredPerSec,
  commits: 100,
  unobserved: 0,
  p50,
  p95: (p50 + p99) / 2,
  p99,
  max: p99 * 2,
  mean: p50,
});

test('logTicks covers the range with 1-2-5 steps', () => {
  assert.deepEqual(logTicks(1.5, 40), [1, 2, 5, 10, 20, 50]);
  assert.deepEqual(logTicks(0.3, 0.9), [0.2, 0.5, 1]);
  assert.deepEqual(logTicks(3, 3), [2, 5]);
});

test('escapeXml neutralises markup characters', () => {
  assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
});

test('the chart has one line per percentile, one label per load and the target line', () => {
  const svg = latencyChart([step(100, 2, 8), step(1000, 3, 20), step(5000, 9, 120)], 'evictd <latency>', 25);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal(svg.match(/<polyline /g)?.length, 4);
  assert.equal(svg.match(/<circle /g)?.length, 12);
  for (const l of ['100/s', '1000/s', '5000/s', 'p99 target', 'evictd &lt;latency&gt;']) assert.ok(svg.includes(l), l);
  assert.ok(!svg.includes('NaN'));
});

test('a higher latency is drawn higher up (smaller y)', () => {
  const svg = latencyChart([step(100, 1, 10), step(200, 100, 1000)], 't');
  const p50 = svg.match(/<polyline fill="none" stroke="#2b7bb9" stroke-width="2" points="([^"]+)"/)![1]!;
  const [a, b] = p50.split(' ').map((p) => Number(p.split(',')[1]));
  assert.ok(b! < a!, `${b} should be above ${a}`);
  assert.throws(() => latencyChart([], 't'), /at least one/);
});
