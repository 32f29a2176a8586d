/**
 * `npm run test:faults`: the long fault-injection run (FAULTS_DURATION_S, default 300 s) with the
 * figures for the report; writes test-results/faults.json and exits 1 on any stale entry.
 * FAULTS_SEED replays a run; FAULTS_RATE (writes/s), FAULTS_ROWS, FAULTS_READERS size it;
 * FAULTS_GAP_MS=min,max and FAULTS_DOWN_MS=min,max shape the fault schedule, FAULTS_TARGETS=kafka,redis
 * limits it to those kinds (default all but postgres, which is opt-in; `none`: a steady-state run without
 * faults); FAULTS_KEEP_LOGS=1 keeps evictd's logs, FAULTS_LOG_LEVEL=info makes them say more;
 * FAULTS_SESSION_TIMEOUT_MS is the invalidator's invalidate.sessionTimeoutMs (default 6000, the broker's floor).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_FAULT_TARGETS, REPO_ROOT, type FaultTarget } from '@evictd/bench';
import { describeReport, runFaults } from './harness.js';

const env = process.env;
function range(name: string, fallback: readonly [number, number]): readonly [number, number] {
  const text = env[name];
  if (text === undefined) return fallback;
  const [min, max] = text.split(',').map(Number);
  if (!(Number.isInteger(min) && Number.isInteger(max) && min! >= 0 && max! >= min!)) {
    throw new RangeError(`${name} must be "min,max" in milliseconds with 0 <= min <= max, got "${text}"`);
  }
  return [min!, max!];
}

const options = {
  seed: Number(env.FAULTS_SEED ?? Date.now() % 1_000_000),
  durationS: Number(env.FAULTS_DURATION_S ?? 300),
  rows: Number(env.FAULTS_ROWS ?? 1000),
  writesPerSec: Number(env.FAULTS_RATE ?? 200),
  readers: Number(env.FAULTS_READERS ?? 6),
  runtime: env.FAULTS_RUNTIME === 'dist' ? ('dist' as const) : ('tsx' as const),
  keepLogs: env.FAULTS_KEEP_LOGS === '1',
  l1: env.FAULTS_L1 === '1',
  ...(env.FAULTS_LOG_LEVEL ? { logLevel: env.FAULTS_LOG_LEVEL } : {}),
  ...(env.FAULTS_SESSION_TIMEOUT_MS ? { sessionTimeoutMs: Number(env.FAULTS_SESSION_TIMEOUT_MS) } : {}),
};
function targets(): readonly FaultTarget[] | undefined {
  const text = env.FAULTS_TARGETS;
  if (text === undefined || text === '') return undefined;
  if (text === 'none') return []; // steady state: the same workload and figures, no faults
  const list = text.split(',').map((t) => t.trim());
  const unknown = list.filter((t) => !(ALL_FAULT_TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) throw new RangeError(`FAULTS_TARGETS: unknown fault kind ${unknown.join(', ')} (known: ${ALL_FAULT_TARGETS.join(', ')})`);
  return list as FaultTarget[];
}

const chosen = targets();
const schedule = { ...(chosen ? { targets: chosen } : {}), gapMs: range('FAULTS_GAP_MS', [2_000, 7_000]), downMs: range('FAULTS_DOWN_MS', [300, 4_000]) };
for (const [name, value] of Object.entries(options)) {
  if (typeof value === 'number' && !(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`fault run setting ${name} must be a positive integer, got ${value} (check the FAULTS_* variables)`);
  }
}

const report = await runFaults({ ...options, ...schedule, log: (m) => process.stdout.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${m}\n`) });
const dir = join(REPO_ROOT, 'test-results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'faults.json'), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`\n${describeReport(report)}\n(full report: test-results/faults.json)\n`);
if (report.stale.length > 0) {
  process.stdout.write(`STALE: ${JSON.stringify(report.stale.slice(0, 20))}\n`);
  process.exitCode = 1;
}
