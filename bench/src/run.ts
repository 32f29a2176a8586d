/**
 * `npm run bench`: measures evictd end to end on a private local stack and writes
 * bench/results/latest.json, latest.md and latency.svg (and the README's table, between its markers).
 *
 * Environment: BENCH_QUICK=1 (smaller, ~1 min), BENCH_LOADS=100,1000,5000,10000, BENCH_STEP_S=10,
 * BENCH_BACKLOG=1000000, BENCH_RUNTIME=dist|tsx (default dist, built first), BENCH_PROFILE=1 (a CPU profile of both evictd processes; it slows them, so it is off by default),
 * BENCH_NODE (the Node binary of the evictd processes, e.g. .ci/node24/node_modules/.bin/node; default
 * the harness's own; results record its version), BENCH_EVICTD_NODE_OPTIONS (NODE_OPTIONS of the
 * evictd processes only, e.g. --max-old-space-size=128),
 * BENCH_MAX_IN_FLIGHT_BYTES (the publisher's publish.maxInFlightBytes; default: evictd's),
 * BENCH_PUBLISH (other publish settings as JSON, e.g. '{"lingerMs":0}'; the report names them),
 * BENCH_INVALIDATE (invalidate settings as JSON, e.g. '{"maxWaitTimeMs":200}'; likewise),
 * BENCH_PUBLISH_NODE_OPTIONS / BENCH_INVALIDATE_NODE_OPTIONS (NODE_OPTIONS of that role only, after
 * BENCH_EVICTD_NODE_OPTIONS; the invalidator's defaults to the heap it ships with, INVALIDATOR_NODE_OPTIONS),
 * BENCH_RESULTS_DIR (where the outputs go; default bench/results, which also updates the README),
 * BENCH_SCENARIOS=pipeline,truncate-1m,l1 (which to run; default all: `pipeline` is latency,
 * throughput, backlog and raw limits; `truncate-1m` is the TRUNCATE with 1M unrelated keys; `l1` the
 * L1 tier's hit latency and invalidation -> last instance's L1 drop with 2 and 8 instances; run
 * alone, the last two join the last latest.json), BENCH_L1_HIT_CALLS (default 20000, quick 5000),
 * BENCH_L1_DROP_RUNS (default 100, quick 30), BENCH_TRUNCATE_REPEATS (default 5, quick 3),
 * BENCH_TRUNCATE_SCAN_REPEATS (the old SCAN path for comparison; default 2, 0 skips it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, startStack } from '@evictd/infra';
import { INVALIDATOR_NODE_OPTIONS } from '@evictd/invalidator';
import { latencyChart } from './chart.js';
import { evictdProcess, nodeVersion, pipelineConfig, REPO_ROOT, waitWhileAlive, type EvictdProcess, type EvictdRuntime } from './evictd.js';
import { LandingLog, matchLandings } from './landing.js';
import { observeKeyspace } from './observer.js';
import { watchProcess, watchProcessTree } from './proc.js';
import { createRawSlot, dropRawSlot, kafkaRates, pgDecodeSeconds, redisUnlinkRate } from './probes.js';
import { topFrames, type CpuProfile } from './profile.js';
import { bucketQuantile, histogramDelta, parseGauge, parseHistogram, scrape } from './metrics.js';
import { l1Report, markdownReport, TARGETS, truncateReport } from './report.js';
import type { BenchResults, LatencyStep, ProcessUsage, StageTimes, ThroughputRun } from './results.js';
import { round, summarize } from './stats.js';
import { benchTable, bulkUpdates, createTable, pacedUpdates, wallNow } from './workload.js';
import { updateReadme } from './readme.js';
import { runTruncate1m } from './truncate-1m.js';
import { runL1Bench } from './l1.js';
import { httpTargetReport, runHttpTargetBench } from './target-http.js';
import { memcachedTargetReport, runMemcachedTargetBench } from './target-memcached.js';

const env = process.env;
const SCENARIOS = ['pipeline', 'truncate-1m', 'l1', 'target-http', 'target-memcached'] as const;
const quick = env.BENCH_QUICK === '1';
const settings = {
  loads: (env.BENCH_LOADS ?? '100,1000,5000,10000').split(',').map(Number),
  stepSeconds: Number(env.BENCH_STEP_S ?? (quick ? 3 : 10)),
  throughputChanges: Number(env.BENCH_THROUGHPUT ?? (quick ? 50_000 : 300_000)),
  backlogChanges: Number(env.BENCH_BACKLOG ?? (quick ? 100_000 : 1_000_000)),
  rawKafkaMessages: quick ? 50_000 : 200_000,
  rawRedisKeys: quick ? 100_000 : 500_000,
  runtime: (env.BENCH_RUNTIME ?? 'dist') as EvictdRuntime,
  profile: env.BENCH_PROFILE === '1',
  evictdNodeOptions: env.BENCH_EVICTD_NODE_OPTIONS ?? '',
  evictdNode: env.BENCH_NODE ? resolve(env.BENCH_NODE) : process.execPath,
  maxInFlightBytes: env.BENCH_MAX_IN_FLIGHT_BYTES === undefined ? undefined : Number(env.BENCH_MAX_IN_FLIGHT_BYTES),
  publishNodeOptions: env.BENCH_PUBLISH_NODE_OPTIONS ?? '',
  // The invalidator runs with the heap it is shipped with (compose); BENCH_INVALIDATE_NODE_OPTIONS= (empty) gives Node's defaults.
  invalidateNodeOptions: env.BENCH_INVALIDATE_NODE_OPTIONS ?? INVALIDATOR_NODE_OPTIONS,
  scenarios: (env.BENCH_SCENARIOS ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()),
  truncateRepeats: Number(env.BENCH_TRUNCATE_REPEATS ?? (quick ? 3 : 5)),
  l1HitCalls: Number(env.BENCH_L1_HIT_CALLS ?? (quick ? 5_000 : 20_000)),
  l1DropRuns: Number(env.BENCH_L1_DROP_RUNS ?? (quick ? 30 : 100)),
};
const truncateScanRepeats = Number(env.BENCH_TRUNCATE_SCAN_REPEATS ?? 2);
if (!(Number.isInteger(truncateScanRepeats) && truncateScanRepeats >= 0)) throw new RangeError(`BENCH_TRUNCATE_SCAN_REPEATS must be an integer >= 0, got ${truncateScanRepeats}`);
const unknown = settings.scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
if (unknown.length || settings.scenarios.length === 0) throw new RangeError(`BENCH_SCENARIOS: unknown ${unknown.join(', ') || '(empty)'}; choose from ${SCENARIOS.join(', ')}`);
for (const [name, value] of Object.entries({ ...settings, scenarios: [] })) {
  const bad = Array.isArray(value) ? value.some((v) => !(v > 0)) : typeof value === 'number' && !(value > 0);
  if (bad) throw new RangeError(`bench setting ${name} must be positive, got ${String(value)} (check the BENCH_* variables)`);
}
const evictdNodeVersion = nodeVersion(settings.evictdNode);
function settingsFrom(name: 'BENCH_PUBLISH' | 'BENCH_INVALIDATE'): Record<string, number> {
  const parsed: unknown = env[name] ? JSON.parse(env[name]) : {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RangeError(`${name} must be a JSON object of settings, got ${env[name]}`);
  return parsed as Record<string, number>;
}
const publishOverrides = settingsFrom('BENCH_PUBLISH');
const invalidateOverrides = settingsFrom('BENCH_INVALIDATE');
const publishSettings = { ...publishOverrides, ...(settings.maxInFlightBytes ? { maxInFlightBytes: settings.maxInFlightBytes } : {}) };
if (settings.runtime !== 'dist' && settings.runtime !== 'tsx') throw new RangeError(`BENCH_RUNTIME must be dist or tsx, got ${settings.runtime}`);

const DEFAULT_RESULTS = join(REPO_ROOT, 'bench/results');
/** BENCH_RESULTS_DIR puts an experiment's outputs elsewhere; only a default run rewrites the README table. */
const RESULTS = env.BENCH_RESULTS_DIR ? resolve(env.BENCH_RESULTS_DIR) : DEFAULT_RESULTS;
const NAME = 'evictd_bench';
const KEY_PREFIX = 'bench:item:';
const table = benchTable('public.bench_items', KEY_PREFIX);

const log = (msg: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);


/** A scenario's own outputs: RESULTS/<name>.json and <name>.md. */
function writeScenario(name: string, data: unknown, markdown: string): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(join(RESULTS, `${name}.md`), markdown);
}

/** The last full run's results, which a scenario run alone joins (undefined: there is none). */
function lastResults(): BenchResults | undefined {
  const previous = join(RESULTS, 'latest.json');
  return existsSync(previous) ? (JSON.parse(readFileSync(previous, 'utf8')) as BenchResults) : undefined;
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** Puts a value under each id's key (MSET of 1000 keys, 10 per round trip), so its deletion can be seen. */
async function setKeys(redis: Redis, ids: readonly number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 10_000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(i + 10_000, ids.length); j += 1000) {
      p.mset(ids.slice(j, Math.min(j + 1000, i + 10_000)).flatMap((id) => [table.key(id), 'cached']));
    }
    await p.exec();
  }
}

const HEAP_USED = 'evictd_nodejs_heap_size_used_bytes';

/** Samples every watched process over one phase: /proc for all, evictd's heap gauge every second. */
/** The stack's servers, whose CPU per change is part of the machine's budget too (their trees: Postgres has a process per connection). */
let servers: { name: string; pid: number | undefined }[] = [];

function watchPhase(phase: string, processes: readonly EvictdProcess[], changes?: number): () => ProcessUsage[] {
  const heapPeak = new Map<EvictdProcess, number>();
  const timer = setInterval(() => {
    for (const p of processes) {
      void scrape(p.metricsUrl).then(
        (text) => heapPeak.set(p, Math.max(heapPeak.get(p) ?? 0, parseGauge(text, HEAP_USED) ?? 0)),
        () => undefined,
      );
    }
  }, 1000);
  const watchers = [
    ...processes.map((p) => ({ name: `evictd ${p.command}`, p, w: watchProcess(p.pid!) })),
    { name: 'bench harness (load + observer)', p: undefined, w: watchProcess(process.pid) },
    ...servers.flatMap((s) => (s.pid ? [{ name: s.name, p: undefined, w: watchProcessTree(s.pid) }] : [])),
  ];
  return () => {
    clearInterval(timer);
    return watchers.map(({ name, p, w }) => {
      const heap = p ? heapPeak.get(p) : undefined;
      return { process: name, phase, ...w.stop(), ...(heap ? { heapUsedPeakMiB: heap / 2 ** 20 } : {}), ...(changes ? { changes } : {}) };
    });
  };
}

const STAGE_HISTOGRAMS = { publish: 'evictd_publish_commit_to_kafka_seconds', invalidate: 'evictd_invalidate_commit_to_delete_seconds' } as const;

/** Scrapes both processes' stage histograms now; the returned function gives the stage times since. */
async function stagesSince(publisher: EvictdProcess, invalidator: EvictdProcess): Promise<() => Promise<StageTimes | undefined>> {
  const read = async () => ({
    kafka: parseHistogram(await scrape(publisher.metricsUrl), STAGE_HISTOGRAMS.publish),
    delete: parseHistogram(await scrape(invalidator.metricsUrl), STAGE_HISTOGRAMS.invalidate),
  });
  const before = await read().catch(() => undefined);
  return async () => {
    const after = await read().catch(() => undefined);
    if (!before || !after?.kafka || !after.delete) return undefined;
    const kafka = histogramDelta(before.kafka, after.kafka);
    const del = histogramDelta(before.delete, after.delete);
    return {
      commitToKafkaMeanMs: (1000 * kafka.sum) / kafka.count,
      commitToKafkaP99Ms: 1000 * bucketQuantile(kafka, 0.99),
      commitToDeleteMeanMs: (1000 * del.sum) / del.count,
      commitToDeleteP99Ms: 1000 * bucketQuantile(del, 0.99),
    };
  };
}

function newestProfile(dir: string): CpuProfile | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const last = files[files.length - 1];
  return last ? (JSON.parse(readFileSync(join(dir, last), 'utf8')) as CpuProfile) : undefined;
}

/** A change event of the benchmark table, to size the raw Kafka probe's messages alike. */
function sampleEventBytes(): number {
  const row = { id: 123456, v: 7, pad: 'x'.repeat(64) };
  const source = { version: '0.1.0', connector: 'evictd', name: NAME, db: 'app', schema: 'public', table: 'bench_items', txId: 123456, lsn: 123456789, ts_ms: Date.now() };
  return Buffer.byteLength(JSON.stringify({ before: null, after: row, op: 'u', source, ts_ms: Date.now() }));
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg()[0]!;
  const work = mkdtempSync(join(tmpdir(), 'evictd-bench-'));
  let runtime = settings.runtime;
  if (runtime === 'dist') {
    log('building evictd (tsc -b) so the measured processes run compiled JavaScript');
    try {
      execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'schemas', 'packages/cache', 'services/invalidator'], { cwd: REPO_ROOT, stdio: 'inherit' });
    } catch {
      log('build failed: falling back to TypeScript through tsx (slower start, more memory); the report says so');
      runtime = 'tsx';
    }
  }

  log('starting the local stack');
  const stack = await startStack({ handleSignals: true });
  const pool = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 20 });
  // An idle pooled connection closed by the server at shutdown must not crash the run after its results.
  pool.on('error', () => undefined);
  const redis = new Redis(stack.env.REDIS_URL);
  servers = [
    { name: 'postgres (all its processes)', pid: stack.postgres.pid },
    { name: 'kafka', pid: stack.kafka.pid },
    { name: 'redis', pid: stack.redis.pid },
  ];
  const processes: EvictdProcess[] = [];
  const waitUntil = (what: string, check: () => boolean, timeoutMs: number) => waitWhileAlive(what, check, timeoutMs, processes);
  const stopAll = () => Promise.all(processes.map((p) => p.stop()));
  try {
    let results: BenchResults | undefined;
    if (settings.scenarios.includes('pipeline')) {
      const latencyIds = settings.loads.reduce((n, rate) => n + rate * settings.stepSeconds, 0) + 200;
      const rows = Math.max(settings.backlogChanges, latencyIds + settings.throughputChanges);
      log(`filling ${table.name} with ${rows} rows`);
      await createTable(pool, table, rows);

      const config = async () =>
        pipelineConfig({
          env: stack.env,
          name: NAME,
          tables: { [table.name]: { keys: [`${KEY_PREFIX}{id}`] } },
          httpPort: await freePort(),
          ...(Object.keys(publishSettings).length > 0 ? { publish: publishSettings } : {}),
          invalidate: invalidateOverrides,
        });
      const roleEnv = (roleNodeOptions: string) => {
        const nodeOptions = [settings.evictdNodeOptions, roleNodeOptions].filter(Boolean).join(' ');
        return nodeOptions ? { NODE_OPTIONS: nodeOptions } : {};
      };
      const publisher = evictdProcess({ command: 'publish', config: await config(), dir: work, runtime, cpuProfile: settings.profile, env: roleEnv(settings.publishNodeOptions), node: settings.evictdNode });
      const invalidator = evictdProcess({ command: 'invalidate', config: await config(), dir: work, runtime, cpuProfile: settings.profile, env: roleEnv(settings.invalidateNodeOptions), node: settings.evictdNode });
      processes.push(publisher, invalidator);
      log(`starting evictd publish and invalidate (${runtime}, Node ${evictdNodeVersion} at ${settings.evictdNode})`);
      await publisher.start();
      await invalidator.start();

      // One sink at a time receives the deletion notifications of the bench keys.
      let sink: (key: string, atMs: number) => void = () => undefined;
      const observer = observeKeyspace({ redisUrl: stack.env.REDIS_URL, events: ['del'], onKey: (key, at) => key.startsWith(KEY_PREFIX) && sink(key, at) });
      await observer.ready;

      let nextId = 1;
      const landings = new LandingLog();
      sink = (key, at) => landings.record(key, at);
      log('warm-up: 200 transactions at 100/s, until every deletion is seen');
      const warm = range(nextId, 200);
      nextId += warm.length;
      await setKeys(redis, warm);
      await pacedUpdates(pool, table, warm, 100, 2);
      await waitUntil('the warm-up deletions (is evictd consuming?)', () => landings.count >= warm.length, 120_000);

      const processUsage: ProcessUsage[] = [];
      const latency: LatencyStep[] = [];
      for (const rate of settings.loads) {
        const ids = range(nextId, rate * settings.stepSeconds);
        nextId += ids.length;
        await setKeys(redis, ids);
        landings.clear();
        log(`latency at ${rate} txn/s for ${settings.stepSeconds} s`);
        const done = watchPhase(`latency ${rate}/s`, processes, ids.length);
        const stages = await stagesSince(publisher, invalidator);
        const run = await pacedUpdates(pool, table, ids, rate, Math.min(16, Math.max(2, Math.ceil(rate / 500))));
        // A step that falls behind is reported with its unobserved count; a dead evictd ends the run.
        await waitUntil(`deletions at ${rate}/s`, () => landings.count >= ids.length, 15_000).catch((err: Error) => {
          if (processes.some((p) => p.death)) throw err;
          log(err.message);
        });
        processUsage.push(...done());
        const stageTimes = await stages();
        const match = matchLandings(run.commits, landings.map);
        const s = summarize(match.latencies);
        latency.push({ offeredPerSec: rate, achievedPerSec: round(run.achievedPerSec), commits: ids.length, unobserved: match.unmatched, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max, mean: s.mean, ...(stageTimes ? { stages: stageTimes } : {}) });
        log(`  p50 ${round(s.p50)} ms, p99 ${round(s.p99)} ms, max ${round(s.max)} ms, achieved ${round(run.achievedPerSec)}/s, unobserved ${match.unmatched}`);
      }

      // Sustained throughput: bulk writers (100-row transactions) run while evictd keeps up.
      const tIds = range(nextId, settings.throughputChanges);
      nextId += tIds.length;
      await setKeys(redis, tIds);
      let count = 0;
      let last = 0;
      sink = (_key, at) => {
        count += 1;
        last = at;
      };
      log(`throughput: ${tIds.length} row changes in 100-row transactions, written as fast as Postgres takes them`);
      const tDone = watchPhase('throughput', processes, tIds.length);
      const t0 = wallNow();
      const written = await bulkUpdates(pool, table, tIds[0]!, tIds[tIds.length - 1]!, 100, 2);
      await waitUntil('throughput deletions', () => count >= tIds.length, 300_000);
      processUsage.push(...tDone());
      const throughput: ThroughputRun = { changes: tIds.length, seconds: (last - t0) / 1000, perSec: tIds.length / ((last - t0) / 1000) };
      log(`  ${round(throughput.perSec)} changes/s end to end (writers alone: ${round(tIds.length / written.seconds)}/s)`);

      // Backlog: evictd down while 1M changes are committed; Postgres's own decoding of the same WAL first.
      log(`backlog: stopping evictd, committing ${settings.backlogChanges} changes (10k-row transactions)`);
      await stopAll();
      const rawSlot = `${NAME}_raw`;
      await dropRawSlot(pool, rawSlot);
      await createRawSlot(pool, rawSlot);
      const bIds = range(1, settings.backlogChanges);
      await bulkUpdates(pool, table, 1, settings.backlogChanges, 10_000, 2);
      const { rows: lsnRows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      log('raw: pg_recvlogical (pgoutput) of the same WAL to /dev/null');
      const decodeSeconds = await pgDecodeSeconds(stack.env.DATABASE_URL, rawSlot, NAME, lsnRows[0]!.lsn);
      await dropRawSlot(pool, rawSlot);
      const pgDecodeRowsPerSec = settings.backlogChanges / decodeSeconds;
      log(`  ${round(pgDecodeRowsPerSec)} rows/s`);
      await setKeys(redis, bIds);
      count = 0;
      let first = 0;
      sink = (_key, at) => {
        if (count === 0) first = at;
        count += 1;
        last = at;
      };
      log('backlog: starting evictd, timing the drain');
      const b0 = wallNow();
      await publisher.start();
      await invalidator.start();
      const bDone = watchPhase('backlog drain', processes, bIds.length);
      await waitUntil('the backlog to drain', () => count >= bIds.length, 900_000);
      processUsage.push(...bDone());
      const batches = parseHistogram(await scrape(publisher.metricsUrl).catch(() => ''), 'evictd_publish_batch_events');
      const backlog = {
        changes: bIds.length,
        seconds: (last - b0) / 1000,
        startupSeconds: (first - b0) / 1000,
        perSec: bIds.length / ((last - first) / 1000),
        ...(batches?.count ? { publishBatches: { count: batches.count, meanEvents: batches.sum / batches.count, perSec: batches.count / ((last - first) / 1000) } } : {}),
      };
      log(`  drained in ${round(backlog.seconds)} s (${round(backlog.perSec)}/s after the first deletion at ${round(backlog.startupSeconds)} s)`);
      await stopAll();
      await observer.close();

      log('raw: Redis pipelined UNLINK, kafkajs produce and consume');
      const redisUnlinkPerSec = await redisUnlinkRate(redis, settings.rawRedisKeys);
      const kafka = await kafkaRates(stack.env.KAFKA_BROKERS.split(','), `${NAME}.raw`, settings.rawKafkaMessages, sampleEventBytes());
      const raw = { pgDecodeRowsPerSec, redisUnlinkPerSec, kafkaProducePerSec: kafka.producePerSec, kafkaConsumePerSec: kafka.consumePerSec };
      const rtt = summarize(kafka.sendRttMs);
      const rawLatency = { kafkaSendRttP50Ms: rtt.p50, kafkaSendRttP99Ms: rtt.p99 };
      const capacity = Math.max(throughput.perSec, backlog.perSec);
      const ratios = {
        pgDecodeRowsPerSec: capacity / raw.pgDecodeRowsPerSec,
        redisUnlinkPerSec: capacity / raw.redisUnlinkPerSec,
        kafkaProducePerSec: capacity / raw.kafkaProducePerSec,
        kafkaConsumePerSec: capacity / raw.kafkaConsumePerSec,
      };

      const profiles = processes.flatMap((p) => {
        const profile = newestProfile(p.profileDir);
        return profile ? [{ process: `evictd ${p.command}`, phase: 'backlog drain (whole process life)', top: topFrames(profile, 12) }] : [];
      });

      results = {
        startedAt: startedAt.toISOString(),
        durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
        environment: {
          node: process.version,
          evictdNode: evictdNodeVersion,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
          loadAverage: { before: round(loadBefore), after: round(loadavg()[0]!) },
          evictdRuntime: runtime,
          evictdNodeOptions: settings.evictdNodeOptions,
          ...(settings.maxInFlightBytes ? { maxInFlightBytes: settings.maxInFlightBytes } : {}),
          ...(Object.keys(publishOverrides).length > 0 ? { publishSettings: publishOverrides } : {}),
          ...(Object.keys(invalidateOverrides).length > 0 ? { invalidateSettings: invalidateOverrides } : {}),
          ...(settings.publishNodeOptions ? { publishNodeOptions: settings.publishNodeOptions } : {}),
          ...(settings.invalidateNodeOptions ? { invalidateNodeOptions: settings.invalidateNodeOptions } : {}),
          quick,
        },
        latency,
        throughput,
        backlog,
        processes: processUsage,
        raw,
        rawLatency,
        ratios,
        profiles,
      };
    }
    if (settings.scenarios.includes('truncate-1m')) {
      const truncate1m = await runTruncate1m({
        env: stack.env,
        pool,
        dir: work,
        runtime,
        node: settings.evictdNode,
        repeats: settings.truncateRepeats,
        scanRepeats: truncateScanRepeats,
        log,
      });
      writeScenario('truncate-1m', truncate1m, truncateReport(truncate1m));
      // Run alone, it joins the last full run's results, so the README table keeps both.
      results ??= lastResults();
      if (results) results.truncate1m = truncate1m;
    }
    if (settings.scenarios.includes('l1')) {
      const l1 = await runL1Bench({ redisUrl: stack.env.REDIS_URL, repoRoot: REPO_ROOT, hitCalls: settings.l1HitCalls, dropRuns: settings.l1DropRuns, instanceCounts: [2, 8], log });
      writeScenario('l1', l1, l1Report(l1));
      results ??= lastResults();
      if (results) results.l1 = l1;
    }
    if (settings.scenarios.includes('target-http')) {
      const http = await runHttpTargetBench({ env: stack.env, pool, dir: work, runtime, node: settings.evictdNode, ratePerSec: Number(env.BENCH_HTTP_RATE ?? 500), seconds: settings.stepSeconds, bulkRows: Number(env.BENCH_HTTP_ROWS ?? (quick ? 20_000 : 100_000)), log });
      writeScenario('target-http', http, httpTargetReport(http));
      log(`wrote ${RESULTS}/target-http.json, target-http.md\n\n${httpTargetReport(http)}`);
    }
    if (settings.scenarios.includes('target-memcached')) {
      const mc = await runMemcachedTargetBench({ env: stack.env, pool, dir: work, runtime, node: settings.evictdNode, ratePerSec: Number(env.BENCH_MEMCACHED_RATE ?? 1000), seconds: settings.stepSeconds, bulkRows: Number(env.BENCH_MEMCACHED_ROWS ?? (quick ? 20_000 : 100_000)), log });
      writeScenario('target-memcached', mc, memcachedTargetReport(mc));
      log(`wrote ${RESULTS}/target-memcached.json, target-memcached.md\n\n${memcachedTargetReport(mc)}`);
    }
    if (!results) {
      log(`wrote the reports of ${settings.scenarios.join(', ')} to ${RESULTS} (no latest.json to join them to)`);
      return;
    }
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    const md = markdownReport(results);
    writeFileSync(join(RESULTS, 'latest.md'), md);
    if (settings.scenarios.includes('pipeline')) {
      writeFileSync(join(RESULTS, 'latency.svg'), latencyChart(results.latency, `evictd commit → Redis deletion (${cpus().length} cores, ${new Date().toISOString().slice(0, 10)})`, TARGETS.p99At1kMs));
    }
    const readme = join(REPO_ROOT, 'README.md');
    if (RESULTS === DEFAULT_RESULTS && existsSync(readme)) writeFileSync(readme, updateReadme(readFileSync(readme, 'utf8'), md));
    log(`wrote ${RESULTS}/latest.json, latest.md${settings.scenarios.includes('pipeline') ? ', latency.svg' : ''}\n\n${md}`);
  } finally {
    await Promise.allSettled(processes.map((p) => p.kill()));
    await pool.end().catch(() => undefined);
    redis.disconnect();
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
