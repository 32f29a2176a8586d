/** bench/results/latest.md and the README table: the results as markdown. Pure. */
import type { BenchResults, L1BenchResults } from './results.js';
import type { Truncate1mResults } from './truncate-1m.js';
import { round } from './stats.js';

/** Targets on a 2-core machine: DESIGN.md's, raised by issue #13 (40k changes/s, p99 at 10k txn/s). */
export const TARGETS = { p50At1kMs: 5, p99At1kMs: 25, p99At10kMs: 100, changesPerSec: 40_000, rssMiB: 150, truncateGoneMs: 1_000 } as const;

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const n = (v: number) => round(v).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

export function markdownReport(r: BenchResults): string {
  const at1k = r.latency.find((s) => s.offeredPerSec === 1000);
  const at10k = r.latency.find((s) => s.offeredPerSec === 10_000);
  const rssPeak = Math.max(...r.processes.filter((p) => p.process.startsWith('evictd ')).map((p) => p.rssPeakMiB));
  const env = r.environment;
  const parts = [
    `Measured ${r.startedAt} (${Math.round(r.durationSeconds)} s run${env.quick ? ', quick mode' : ''}) on ${env.cpus} × ${env.cpuModel}, ` +
      `Node ${env.evictdNode && env.evictdNode !== env.node ? `${env.evictdNode} for evictd (${env.node} for the harness)` : env.node}, evictd from ${env.evictdRuntime === 'dist' ? 'compiled dist/' : 'TypeScript via tsx'}` +
      `${env.evictdNodeOptions ? ` with NODE_OPTIONS=${env.evictdNodeOptions}` : ''}` +
      `${env.maxInFlightBytes ? `, publish.maxInFlightBytes ${env.maxInFlightBytes}` : ''}` +
      `${env.publishSettings ? `, publish settings ${JSON.stringify(env.publishSettings)}` : ''}` +
      `${env.invalidateSettings ? `, invalidate settings ${JSON.stringify(env.invalidateSettings)}` : ''}` +
      `${env.publishNodeOptions ? `, publisher NODE_OPTIONS=${env.publishNodeOptions}` : ''}` +
      `${env.invalidateNodeOptions ? `, invalidator NODE_OPTIONS=${env.invalidateNodeOptions}` : ''}; ` +
      `1-min load average ${env.loadAverage.before} before, ${env.loadAverage.after} after.`,
    '',
    '**Commit → Redis deletion latency** (ms; from the commit timestamp to the keyspace `del` notification)',
    '',
    table(
      ['offered txn/s', 'achieved txn/s', 'commits', 'unobserved', 'p50', 'p95', 'p99', 'max'],
      r.latency.map((s) => [s.offeredPerSec, n(s.achievedPerSec), s.commits, s.unobserved, n(s.p50), n(s.p95), n(s.p99), n(s.max)]),
    ),
    '',
    'Where the time goes, from evictd\'s own histograms over each step (p99 is the upper bound of the histogram bucket holding it):',
    '',
    table(
      ['offered txn/s', 'commit → Kafka ack, mean', 'p99 ≤', 'commit → Redis delete, mean', 'p99 ≤'],
      r.latency.flatMap((s) => (s.stages ? [[s.offeredPerSec, n(s.stages.commitToKafkaMeanMs), n(s.stages.commitToKafkaP99Ms), n(s.stages.commitToDeleteMeanMs), n(s.stages.commitToDeleteP99Ms)]] : [])),
    ),
    ...(r.rawLatency
      ? ['', `Floor under commit → Kafka ack: one acknowledged one-message kafkajs batch takes p50 ${n(r.rawLatency.kafkaSendRttP50Ms)} ms, p99 ${n(r.rawLatency.kafkaSendRttP99Ms)} ms on this stack.`]
      : []),
    '',
    '**Throughput, resources, raw limits**',
    '',
    table(
      ['measure', 'evictd', 'raw limit', 'evictd / limit'],
      [
        ['sustained row changes/s (end to end)', n(r.throughput.perSec), '', ''],
        [`drain a ${n(r.backlog.changes)}-change backlog (from evictd's start)`, `${n(r.backlog.seconds)} s (${n(r.backlog.perSec)}/s after the first deletion at ${n(r.backlog.startupSeconds)} s)`, '', ''],
        ...(r.backlog.publishBatches
          ? [['publisher Kafka batches during the drain (one in flight)', `${n(r.backlog.publishBatches.perSec)}/s of ${n(r.backlog.publishBatches.meanEvents)} events`, '', '']]
          : []),
        ['Postgres logical decoding (pg_recvlogical, pgoutput), rows/s', '', n(r.raw.pgDecodeRowsPerSec), n(r.ratios.pgDecodeRowsPerSec)],
        ['Redis pipelined UNLINK (100 keys/command), keys/s', '', n(r.raw.redisUnlinkPerSec), n(r.ratios.redisUnlinkPerSec)],
        ['kafkajs produce, msgs/s', '', n(r.raw.kafkaProducePerSec), n(r.ratios.kafkaProducePerSec)],
        ['kafkajs consume, msgs/s', '', n(r.raw.kafkaConsumePerSec), n(r.ratios.kafkaConsumePerSec)],
      ],
    ),
    '',
    table(
      ['process', 'phase', 'peak RSS MiB', 'peak V8 heap used MiB', 'CPU % of one core', 'CPU µs per change'],
      r.processes.map((p) => [p.process, p.phase, n(p.rssPeakMiB), p.heapUsedPeakMiB === undefined ? '' : n(p.heapUsedPeakMiB), n(p.cpuPercent), p.cpuSeconds !== undefined && p.changes ? n((1e6 * p.cpuSeconds) / p.changes) : '']),
    ),
    '',
    '**Targets** (DESIGN.md, issue #13)',
    '',
    table(
      ['target', 'measured', ''],
      [
        [`p50 ≤ ${TARGETS.p50At1kMs} ms at 1k txn/s`, at1k ? `${n(at1k.p50)} ms` : 'not run', at1k ? verdict(at1k.p50 <= TARGETS.p50At1kMs) : ''],
        [`p99 ≤ ${TARGETS.p99At1kMs} ms at 1k txn/s`, at1k ? `${n(at1k.p99)} ms` : 'not run', at1k ? verdict(at1k.p99 <= TARGETS.p99At1kMs) : ''],
        [`p99 ≤ ${TARGETS.p99At10kMs} ms at 10k txn/s`, at10k ? `${n(at10k.p99)} ms (achieved ${n(at10k.achievedPerSec)} txn/s)` : 'not run', at10k ? verdict(at10k.p99 <= TARGETS.p99At10kMs) : ''],
        [`≥ ${n(TARGETS.changesPerSec)} row changes/s`, n(r.throughput.perSec), verdict(r.throughput.perSec >= TARGETS.changesPerSec)],
        [`RSS ≤ ${TARGETS.rssMiB} MiB per evictd process`, `${n(rssPeak)} MiB`, verdict(rssPeak <= TARGETS.rssMiB)],
      ],
    ),
  ];
  if (r.truncate1m) parts.push('', truncateReport(r.truncate1m).trimEnd());
  if (r.l1) parts.push('', l1Report(r.l1).trimEnd());
  for (const p of r.profiles) {
    parts.push('', `**CPU profile: ${p.process}, ${p.phase}** (top self-time frames)`, '');
    parts.push(table(['self %', 'function', 'where'], p.top.map((f) => [n(f.selfPercent), `\`${f.functionName}\``, f.location])));
  }
  return `${parts.join('\n')}\n`;
}

/** The truncate-1m scenario: one row per invalidation path, p50 / max over the repetitions. */
export function truncateReport(t: Truncate1mResults): string {
  const pm = (x: { p50: number; max: number }) => `${n(x.p50)} / ${n(x.max)}`;
  const label = { registry: 'shapes (fills through createCache + registry; flush.lua, then the cleaner)', scan: 'old SCAN path, for comparison (plain SET keys, invalidate.scanUnregistered: true)' } as const;
  const registry = t.variants.find((v) => v.path === 'registry');
  return [
    `**TRUNCATE with ${n(t.unrelatedKeys)} unrelated keys in Redis** (truncate-1m, measured ${t.startedAt}; ms, p50 / max over the runs; ` +
      `from the commit to the key's deletion, seen by ${t.observedBy})`,
    '',
    table(
      ['path', 'runs', `TRUNCATE a → all ${n(t.tableKeys)} keys of a gone`, 'change to b committed right after → its key gone', 'same change to b, no TRUNCATE before'],
      t.variants.map((v) => [label[v.path], v.runs.length, pm(v.truncateToAllGone), pm(v.nextChange), pm(v.baselineChange)]),
    ),
    ...(registry
      ? [
          '',
          `Target (issue #10): a's keys gone within ${n(TARGETS.truncateGoneMs)} ms: ${verdict(registry.truncateToAllGone.max <= TARGETS.truncateGoneMs)} (max ${n(registry.truncateToAllGone.max)} ms); ` +
            `b not delayed: right after the TRUNCATE p50 ${n(registry.nextChange.p50)} ms against ${n(registry.baselineChange.p50)} ms without it.`,
        ]
      : []),
  ].join('\n') + '\n';
}

/** The l1 scenario: L1 hit vs Redis hit, and invalidation -> last instance's L1 drop. */
export function l1Report(r: L1BenchResults): string {
  // Three significant digits, not n(): an L1 hit is a few microseconds.
  const f = (x: number) => String(round(x));
  return [
    `**L1 tier** (l1, measured ${r.startedAt}; ms, p50 / p99)`,
    '',
    table(
      ['measure', 'p50', 'p99'],
      [
        [`getOrLoad answered by L1 (${n(r.hit.calls)} sequential calls)`, f(r.hit.l1.p50), f(r.hit.l1.p99)],
        ['getOrLoad answered by a Redis GET (no L1)', f(r.hit.redis.p50), f(r.hit.redis.p99)],
        ...r.drop.map((d) => [`Redis invalidation → last of ${d.instances} instances' L1 drop (separate processes, ${d.runs} runs)`, f(d.p50), f(d.p99)]),
      ],
    ),
  ].join('\n') + '\n';
}
