/**
 * The fault-injection run: a bounded write workload on Postgres, readers filling the cache through
 * @evictd/cache, and seeded SIGKILL + restart of the publisher, the invalidator, Redis and Kafka,
 * plus the two table-wide invalidations: a TRUNCATE that re-inserts every row with its version
 * bumped, and a lost slot (publisher killed, its slot dropped, changes made that only the
 * publisher's lost-slot flush can cover, publisher started again).
 * After quiescence (slot caught up with the last write, consumer group caught up with the topic,
 * no detached shape set left to clean) every cached key is compared with the database.
 * Runs on its own private stack: it kills servers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createCache, createKeyRegistry, createRedisLayout } from '@evictd/cache';
import { logTail, startStack } from '@evictd/infra';
import { INVALIDATOR_NODE_OPTIONS } from '@evictd/invalidator';
import {
  countByTarget,
  evictdProcess,
  faultRecoveries,
  outsideRecoveryWindows,
  recoveryByTarget,
  FAULT_RESOURCE,
  faultSchedule,
  findStale,
  freePort,
  HistogramAcrossRestarts,
  LandingLog,
  latencyTimeline,
  matchLandings,
  nines,
  observeKeyspace,
  parseGauge,
  parseHistogram,
  pipelineConfig,
  round,
  scrape,
  seededRandom,
  shareAtMost,
  wallNow,
  shareWithin,
  summarize,
  type Commit,
  type EvictdRuntime,
  type Fault,
  type FaultRecovery,
  type FaultTarget,
  type RecoveryByTarget,
  type LatencySummary,
  type StaleEntry,
  type TimelineBucket,
} from '@evictd/bench';

export interface FaultRunOptions {
  seed: number;
  /** Length of the write workload; faults happen inside it. */
  durationS: number;
  rows: number;
  writesPerSec: number;
  readers: number;
  /** Time between fault starts and how long a part stays down, ms (defaults [2000, 7000] and [300, 4000]). */
  gapMs?: readonly [number, number];
  downMs?: readonly [number, number];
  /** Fault kinds drawn (default FAULT_TARGETS): e.g. only Kafka restarts, to measure their recovery alone; [] for none (steady state). */
  targets?: readonly FaultTarget[];
  runtime?: EvictdRuntime;
  /**
   * Readers with the L1 tier on: at the end every entry of their L1 is compared with its row too
   * (after a barrier that applies the invalidations Redis already sent).
   */
  l1?: boolean;
  /** evictd's log level (default the bench config's, warn): info shows each start-up step with its time. */
  logLevel?: string;
  /** invalidate.sessionTimeoutMs of the invalidator (default 6000, the broker's floor). */
  sessionTimeoutMs?: number;
  /** Keep the evictd logs and configs even when the run passes. */
  keepLogs?: boolean;
  log?: (message: string) => void;
}

export interface Nines {
  share: number;
  nines: number;
  lowerBound: boolean;
}

export interface FaultRunReport {
  seed: number;
  durationS: number;
  gapMs: readonly [number, number];
  downMs: readonly [number, number];
  changes: number;
  faults: Fault[];
  faultsByTarget: Record<FaultTarget, number>;
  /** Extra restarts: a server start that failed and was tried again. */
  restartRetries: number;
  /** evictd processes that exited without being killed (spawned again by the run's supervisor), s after start. */
  selfExits: { role: string; atS: number }[];
  checkedKeys: number;
  cachedKeys: number;
  stale: StaleEntry[];
  /** With `l1`: the readers' L1 entries at the end, and those that differ from their row. */
  l1: { entries: number; stale: StaleEntry[]; hits: number; drops: number; flushes: number } | null;
  /** Invalidations: a marker write for the changed key seen after the commit (keyspace notification). */
  landed: number;
  unobserved: number;
  latency: LatencySummary | undefined;
  within100ms: Nines;
  within1s: Nines;
  /** The same shares for changes committed while every part was up (a backlog from an earlier fault may still delay them). */
  calm: { changes: number; within100ms: Nines; within1s: Nines };
  /** The same shares for changes committed outside every fault's recovery window (kill to its backlog drained). */
  outsideRecovery: { changes: number; within100ms: Nines; within1s: Nines };
  /**
   * Per fault: from the part answering again (server ready, evictd role spawned) to the first
   * invalidation of the changes that waited for it, and to the last (backlog drained).
   */
  recoveries: FaultRecovery[];
  /** The same per fault type, p50 / max over the faults that recovered with no other part down. */
  recoveryByTarget: RecoveryByTarget[];
  /** Each fault as it happened: seconds after the workload started, from the kill to the part being back. */
  downtimes: { target: FaultTarget; fromS: number; toS: number }[];
  /** Commit -> landing latency by commit time (10 s buckets): how backlogs built up and drained around the faults. */
  timeline: TimelineBucket[];
  /**
   * evictd's own counters every 5 s (null: the process was down or did not answer): which stage
   * stalled; and the harness's own event-loop delay over those 5 s (max, ms): a harness too busy to
   * read its notifications in time makes landings look late that were not.
   */
  progress: { tS: number; published: number | null; invalidated: number | null; harnessDelayMaxMs: number }[];
  /**
   * The invalidator's own commit -> Redis confirmed histogram (from the event's commit time),
   * summed over its processes' lives as sampled every 5 s: the same shares as seen by evictd,
   * independent of the harness's observer. A process's last seconds before a kill are not in it.
   */
  evictdOwn: { observed: number; within100ms: number; within1s: number } | null;
  quiescenceS: number;
  reads: number;
  /** Reads answered by the database because Redis was down, too slow, or the breaker open (not errors: the breaker is on). */
  degraded: Record<string, number>;
  /** Reads that threw (a loader that found no row; Redis errors only if the breaker were off). */
  readErrors: number;
  fills: number;
  /** Fills the fence dropped, by reason (each one a stale write that did not happen). */
  fillsRejected: Record<string, number>;
  observerReconnects: number;
  /** Writes that found no row (would mean a TRUNCATE's re-insert was not atomic); 0 expected. */
  missedWrites: number;
  /** Writes that failed because Postgres was down (only with postgres faults; the check reads the database anyway). */
  failedWrites: number;
  /** Loads that found no row (same); 0 expected. */
  missedLoads: number;
  /**
   * Each TRUNCATE and lost-slot fault: when it happened and when the table's shape marker was
   * next written (the invalidator's flush fencing the table), from the TRUNCATE's commit or the
   * publisher's restart. `unslottedChanges`: changes committed while the slot did not exist,
   * which nothing but the lost-slot flush invalidates.
   */
  tableWide: TableWideFault[];
}

export interface TableWideFault {
  kind: 'truncate' | 'lost-slot';
  /** Seconds after the workload started: the TRUNCATE's commit, or the slot recreated by the restarted publisher. */
  atS: number;
  /** Rows the TRUNCATE re-inserted, or changes committed while the slot was gone (at least). */
  changes: number;
  /** Time from `atS` to the next shape-marker write (keyspace notification); null: not observed. */
  flushAfterMs: number | null;
}

const NAME = 'evictd_faults';
const TABLE = 'public.fault_items';
const KEY_PREFIX = 'fi:';
const MARKER_PREFIX = `evictd:mk:${KEY_PREFIX}`;
const LAYOUT = createRedisLayout();

function withLogLevel<C extends Record<string, unknown>>(config: C, level: string | undefined): C {
  return level ? { ...config, log: { ...(config.log as Record<string, unknown> | undefined), level } } : config;
}

function withInvalidate<C extends Record<string, unknown>>(config: C, settings: Record<string, number>): C {
  return { ...config, invalidate: { ...(config.invalidate as Record<string, unknown> | undefined), ...settings } };
}

/**
 * Polls until `check` holds. On a timeout `explain` adds what was seen (offsets, a log's tail), so a
 * CI failure says where the pipeline stood without the machine's /tmp.
 */
async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200, explain?: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const seen = explain ? await explain().catch((err: unknown) => `(could not explain: ${String(err)})`) : '';
      throw new Error(`fault run: timed out after ${timeoutMs} ms waiting for ${what}${seen ? `\n${seen}` : ''}`);
    }
    await sleep(everyMs);
  }
}


function sharesOf(latencies: number[], total: number, boundMs: number): Nines {
  if (total === 0) return { share: NaN, nines: NaN, lowerBound: false };
  const share = shareWithin(latencies, boundMs, total);
  return { share, ...nines(share, total) };
}

export async function runFaults(options: FaultRunOptions): Promise<FaultRunReport> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const durationMs = options.durationS * 1000;
  const work = mkdtempSync(join(tmpdir(), 'evictd-faults-'));
  log('starting a private stack (this run kills its servers)');
  const stack = await startStack({ handleSignals: true });
  const pool = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 8 });
  // An idle pooled connection closed by the server at shutdown must not crash the run after its results.
  pool.on('error', () => undefined);
  // Readers fail fast while Redis is down instead of queueing; the loop just tries again.
  const redis = new Redis(stack.env.REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  const kafka = new Kafka({ clientId: `${NAME}-check`, brokers: stack.env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  const cleanups: (() => Promise<unknown>)[] = [];
  let passed = false;
  try {
    await pool.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, version int NOT NULL DEFAULT 0)`);
    await pool.query(`INSERT INTO ${TABLE} (id) SELECT generate_series(1, $1::int)`, [options.rows]);

    const runtime = options.runtime ?? 'tsx';
    const tables = { [TABLE]: { keys: [`${KEY_PREFIX}{id}`] } };
    const roles = {
      publisher: evictdProcess({
        command: 'publish',
        dir: work,
        runtime,
        config: withLogLevel(pipelineConfig({ env: stack.env, name: NAME, tables, httpPort: await freePort() }), options.logLevel),
      }),
      invalidator: evictdProcess({
        command: 'invalidate',
        dir: work,
        runtime,
        env: { NODE_OPTIONS: INVALIDATOR_NODE_OPTIONS }, // the heap it ships with
        config: withInvalidate(withLogLevel(pipelineConfig({ env: stack.env, name: NAME, tables, httpPort: await freePort() }), options.logLevel), {
          // The broker's floor (group.min.session.timeout.ms, 6 s by default): a killed
          // invalidator's partitions are free again 6 s after the kill instead of 10.
          sessionTimeoutMs: options.sessionTimeoutMs ?? 6_000,
        }),
      }),
    };
    cleanups.push(() => Promise.allSettled([roles.publisher.kill(), roles.invalidator.kill()]));
    log(`starting evictd publish and invalidate (${runtime})`);
    await roles.publisher.start(120_000);
    await roles.invalidator.start(120_000);

    const registry = createKeyRegistry(tables);
    const shapeMarkers = new Set(registry.shapesOf(`${KEY_PREFIX}1`, []).map((s) => LAYOUT.shapeMarkerKey(s.kind, s.shape)));
    if (shapeMarkers.size === 0) throw new Error(`fault run: the registry gives ${KEY_PREFIX}1 no shape; table-wide faults would test nothing`);
    /** When the table's shape marker was written (a flush fencing the table), in order. */
    const shapeWrites: number[] = [];
    const landings = new LandingLog();
    const observer = observeKeyspace({
      redisUrl: stack.env.REDIS_URL,
      events: ['set'],
      onKey: (key, at) => {
        if (key.startsWith(MARKER_PREFIX)) landings.record(key.slice('evictd:mk:'.length), at);
        else if (shapeMarkers.has(key)) shapeWrites.push(at);
      },
    });
    cleanups.push(() => observer.close());
    await observer.ready;

    // evictd restarts without waiting for health: while Kafka or Redis is still down it may stay
    // unhealthy (or exit and be spawned again); the servers' start() waits until they answer.
    type Process = 'publisher' | 'invalidator' | 'redis' | 'kafka' | 'postgres';
    let restartRetries = 0;
    const servers = { redis: stack.redis, kafka: stack.kafka, postgres: stack.postgres };
    const isRole = (target: Process): target is keyof typeof roles => target === 'publisher' || target === 'invalidator';
    const restart = async (target: Process) => {
      if (isRole(target)) return roles[target].spawn();
      const deadline = Date.now() + 180_000;
      for (;;) {
        try {
          return await servers[target].start();
        } catch (err) {
          if (Date.now() > deadline) throw err;
          restartRetries += 1;
          await sleep(1000);
        }
      }
    };
    /** Every part up and evictd healthy (a role that exited by itself is the supervisor's, below). */
    const allUp = async () => {
      for (const role of [roles.publisher, roles.invalidator]) {
        await waitUntil(`evictd ${role.command} healthy (log: ${role.logFile})`, () => role.waitHealthy(2_000).then(() => true, () => false), 180_000, 500);
      }
    };
    const kill = (target: Process) => {
      if (!isRole(target)) return servers[target].kill();
      return roles[target].kill();
    };

    // Table-wide faults. Writers and readers go on meanwhile; their "current version" is the row's.
    const tableWide: { kind: TableWideFault['kind']; at: number; changes: number }[] = [];
    /** One transaction: snapshot, TRUNCATE, every row back with version + 1. Writers wait on the lock. */
    const truncate = async () => {
      // With no slot (a lost-slot fault under way) the TRUNCATE would be one more lost change,
      // covered by that flush: wait for the slot, so its own event and flush are what is tested.
      await waitUntil(`slot ${NAME} to exist before the TRUNCATE`, () => slotExists().catch(() => false), 120_000, 50);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // The lock first, so no write commits between the snapshot and the TRUNCATE (it would be undone).
        await client.query(`LOCK TABLE ${TABLE} IN ACCESS EXCLUSIVE MODE`);
        await client.query(`CREATE TEMP TABLE fault_snapshot ON COMMIT DROP AS SELECT id, version FROM ${TABLE}`);
        await client.query(`TRUNCATE ${TABLE}`);
        const inserted = await client.query(`INSERT INTO ${TABLE} (id, version) SELECT id, version + 1 FROM fault_snapshot`);
        const { rows } = await client.query<{ t: string }>('SELECT extract(epoch from clock_timestamp()) * 1000 AS t');
        await client.query('COMMIT');
        tableWide.push({ kind: 'truncate', at: Number(rows[0]!.t), changes: inserted.rowCount ?? 0 });
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    };
    const slotExists = async () => (await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [NAME])).rowCount === 1;
    const slotActive = async () => {
      const { rows } = await pool.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [NAME]);
      return rows[0]?.active === true;
    };
    /**
     * Publisher killed, its slot dropped once the server has let go of it, changes committed that
     * no slot records (so only the flush the restarted publisher sends can cover them), restart.
     */
    const loseSlot = async (downMs: number) => {
      await kill('publisher');
      await waitUntil(`slot ${NAME} inactive after the publisher's kill`, async () => !(await slotActive()), 30_000, 50);
      await pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [NAME]);
      const dropped = wallNow();
      const pick = seededRandom(options.seed * 17 + tableWide.length);
      for (let i = 0; i < 3; i += 1) {
        await pool.query(`UPDATE ${TABLE} SET version = version + 1 WHERE id = $1`, [1 + Math.floor(pick() * options.rows)]);
      }
      await sleep(downMs);
      await restart('publisher');
      // Changes are lost until the restarted publisher has created the slot again (even with Kafka down).
      await waitUntil(`publisher to recreate slot ${NAME} (log: ${roles.publisher.logFile})`, slotExists, 120_000, 50);
      const restarted = wallNow();
      const unslotted = 3 + commits.filter((c) => c.commitMs >= dropped && c.commitMs <= restarted).length;
      tableWide.push({ kind: 'lost-slot', at: restarted, changes: unslotted });
    };

    // Faults: each target's kill waits for its previous restart, so a slow JVM start cannot overlap itself.
    const gapMs = options.gapMs ?? [2_000, 7_000];
    const downMs = options.downMs ?? [300, 4_000];
    // No targets: a steady-state run, the same workload and figures without faults.
    const faults = options.targets?.length === 0 ? [] : faultSchedule({ seed: options.seed, durationMs, gapMs, downMs, ...(options.targets ? { targets: options.targets } : {}) });
    const busy = new Map<string, Promise<void>>();
    /** When some part was down: kill to (for servers) answering again, (for evictd) spawned again. */
    const downs: { target: FaultTarget; from: number; to: number }[] = [];
    const t0 = Date.now();
    const wall0 = wallNow();
    // An evictd that exits by itself (e.g. it gave up on a Kafka that stayed away) is spawned again
    // a second later, as its supervisor (compose's restart policy, systemd, Kubernetes) would; each
    // such exit is reported, and the quiescence below can no longer wait on a process that is gone.
    const selfExits: { role: string; atS: number }[] = [];
    const supervisor = setInterval(() => {
      for (const role of [roles.publisher, roles.invalidator]) {
        // A role this run killed is no death; it is spawned again by its fault's restart.
        if (role.death === undefined) continue;
        selfExits.push({ role: role.command, atS: round((wallNow() - wall0) / 1000) });
        log(`  evictd ${role.command} exited by itself: spawned again (see ${role.logFile})`);
        role.spawn();
      }
    }, 1_000);
    cleanups.push(async () => clearInterval(supervisor));
    const injector = Promise.all(
      faults.map(async (f) => {
        await sleep(f.atMs);
        const resource = FAULT_RESOURCE[f.target] ?? f.target;
        const previous = busy.get(resource) ?? Promise.resolve();
        const run = previous.then(async () => {
          const at = `fault @${round((Date.now() - t0) / 1000)}s`;
          if (f.target === 'truncate') {
            log(`${at}: TRUNCATE ${TABLE} and re-insert every row, version + 1, in one transaction`);
            // While Postgres is down (a postgres fault) the TRUNCATE waits for it; one cut off by a
            // kill is rolled back and tried again.
            await waitUntil(`the TRUNCATE to commit (Postgres back)`, () => truncate().then(() => true, () => false), 180_000, 500);
            return;
          }
          const down = { target: f.target, from: wallNow(), to: Infinity };
          downs.push(down);
          if (f.target === 'lost-slot') {
            log(`${at}: kill -9 publisher, drop slot ${NAME}, change rows, restart in ${f.downMs} ms`);
            await loseSlot(f.downMs);
          } else {
            log(`${at}: kill -9 ${f.target}, restart in ${f.downMs} ms`);
            await kill(f.target);
            await sleep(f.downMs);
            await restart(f.target);
          }
          down.to = wallNow();
          log(`  ${f.target} back ${round((down.to - down.from) / 1000)} s after its kill`);
        });
        busy.set(resource, run);
        await run;
      }),
    );

    // Each stage's own counter every 5 s, to tell a stalled publisher from a stalled invalidator.
    const progress: FaultRunReport['progress'] = [];
    const evictdOwn = new HistogramAcrossRestarts();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const counter = (text: string | null, name: string) => (text === null ? null : (parseGauge(text, name) ?? 0));
    const scrapeOrNull = (url: string) => scrape(url).catch(() => null);
    const sampler = setInterval(() => {
      const tS = round((wallNow() - wall0) / 1000);
      const harnessDelayMaxMs = round(loopDelay.max / 1e6);
      loopDelay.reset();
      void Promise.all([scrapeOrNull(roles.publisher.metricsUrl), scrapeOrNull(roles.invalidator.metricsUrl)]).then(([pub, inv]) => {
        progress.push({ tS, published: counter(pub, 'evictd_publish_events_total'), invalidated: counter(inv, 'evictd_invalidate_events_total'), harnessDelayMaxMs });
        const own = inv === null ? undefined : parseHistogram(inv, 'evictd_invalidate_commit_to_delete_seconds');
        if (own) evictdOwn.add(own);
      });
    }, 5000);
    cleanups.push(async () => {
      clearInterval(sampler);
      loopDelay.disable();
    });

    // Writers: open loop at a fixed rate on random rows; each commit's time from the server clock.
    const commits: Commit[] = [];
    const total = Math.round(options.writesPerSec * options.durationS);
    const writes = Array.from({ length: total }, () => 1 + Math.floor(random() * options.rows));
    let nextWrite = 0;
    let missedWrites = 0;
    /** Writes that failed (Postgres down): not counted as changes; the final check reads the database anyway. */
    let failedWrites = 0;
    const postgresFaults = faults.some((f) => f.target === 'postgres');
    const writer = async () => {
      for (let i = nextWrite++; i < total; i = nextWrite++) {
        const wait = t0 + (i * 1000) / options.writesPerSec - Date.now();
        if (wait > 0) await sleep(wait);
        const id = writes[i]!;
        let rows: { t: string }[];
        try {
          ({ rows } = await pool.query<{ t: string }>(
            `UPDATE ${TABLE} SET version = version + 1 WHERE id = $1 RETURNING extract(epoch from clock_timestamp()) * 1000 AS t`,
            [id],
          ));
        } catch (err) {
          if (!postgresFaults) throw err;
          failedWrites += 1;
          continue;
        }
        if (rows.length === 0) missedWrites += 1;
        else commits.push({ key: `${KEY_PREFIX}${id}`, commitMs: Number(rows[0]!.t) });
      }
    };

    // Readers: cache-aside through the fenced-fill client; some loads are slow, to open the race window.
    const cache = createCache({ redis, registry, stampede: { waitMs: 200 }, ...(options.l1 ? { l1: {} } : {}) });
    cleanups.push(() => cache.close());
    let reading = true;
    let reads = 0;
    let readErrors = 0;
    let missedLoads = 0;
    const reader = async (n: number) => {
      const pick = seededRandom(options.seed * 31 + n);
      while (reading) {
        const id = 1 + Math.floor(pick() * options.rows);
        const slow = pick() < 0.2 ? Math.floor(pick() * 50) : 0;
        try {
          await cache.getOrLoad(
            `${KEY_PREFIX}${id}`,
            async () => {
              const { rows } = await pool.query<{ version: number }>(`SELECT version FROM ${TABLE} WHERE id = $1`, [id]);
              if (slow) await sleep(slow);
              if (rows.length === 0) {
                missedLoads += 1;
                throw new Error(`row ${id} missing`);
              }
              return String(rows[0]!.version);
            },
            { ttlMs: 600_000 },
          );
          reads += 1;
          await sleep(2); // about 400 reads/s per reader: enough to race the invalidations, not to starve evictd
        } catch {
          // The breaker serves reads from the database while Redis is down (stats().degraded), so
          // this is a loader that found no row, or a Redis error reply.
          readErrors += 1;
          await sleep(50);
        }
      }
    };
    const readersDone = Promise.all(Array.from({ length: options.readers }, (_, n) => reader(n)));

    log(`workload: ${total} single-row writes over ${options.durationS} s, ${options.readers} readers, ${faults.length} faults (seed ${options.seed})`);
    await Promise.all([...Array.from({ length: 4 }, writer), injector]);
    await allUp();
    const { rows: lsnRows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const endLsn = lsnRows[0]!.lsn;

    log(`quiescence: waiting for the slot to pass ${endLsn} and the consumer group to reach the end of the topic`);
    const q0 = Date.now();
    await waitUntil(
      `slot ${NAME} confirmed_flush_lsn >= ${endLsn} (publisher log: ${roles.publisher.logFile})`,
      async () => {
        const { rows } = await pool.query<{ ok: boolean }>(`SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`, [NAME, endLsn]);
        return rows[0]?.ok === true;
      },
      180_000,
    );
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const topic = `${NAME}.${TABLE}`;
    const groupId = `${NAME}-cache`;
    const groupOffsets = async () => {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const at = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]));
      return ends.map((e) => ({ partition: e.partition, end: BigInt(e.high), committed: at.get(e.partition) ?? -1n }));
    };
    await waitUntil(
      `consumer group ${groupId} to commit the end of ${topic} (invalidator log: ${roles.invalidator.logFile})`,
      async () => (await groupOffsets()).every((p) => p.committed >= p.end),
      180_000,
      500,
      async () => {
        const offsets = (await groupOffsets()).map((p) => `${p.partition}: ${p.committed}/${p.end}`).join(', ');
        const { groups } = await admin.describeGroups([groupId]);
        const members = groups[0]?.members.map((m) => m.memberId).join(', ') || 'none';
        const health = await fetch(roles.invalidator.healthUrl, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text(), (err: unknown) => String(err));
        return `partition: committed/end ${offsets}; group state ${groups[0]?.state}, members ${members}; invalidator pid ${roles.invalidator.pid ?? 'none'}, /healthz ${health}\nlast lines of ${roles.invalidator.logFile}:\n${logTail(roles.invalidator.logFile, 40, 128 * 1024)}`;
      },
    );
    // A flush fences at once but leaves the deletion to the invalidator's cleaner: quiet means drained.
    await waitUntil(
      `the cleanup index ${LAYOUT.cleanupIndexKey} to empty (invalidator log: ${roles.invalidator.logFile})`,
      async () => (await redis.scard(LAYOUT.cleanupIndexKey)) === 0,
      180_000,
    );
    const quiescenceS = (Date.now() - q0) / 1000;
    // A flush that lands late (a slow restart on a busy machine) leaves the caches nearly empty at
    // quiescence: the readers go on until they filled again, so the comparison below checks entries.
    const sample = Array.from({ length: Math.min(options.rows, 50) }, (_, i) => `${KEY_PREFIX}${i + 1}`);
    await waitUntil(
      'the readers to fill Redis (and their L1) again after the last invalidations',
      async () => (await redis.exists(...sample)) > 0 && (!cache.l1 || cache.l1.entries().length > 0),
      60_000,
    );
    reading = false;
    await readersDone;

    log('comparing every cached key with the database');
    const { rows } = await pool.query<{ id: number; version: number }>(`SELECT id, version FROM ${TABLE}`);
    const truth = new Map(rows.map((r) => [`${KEY_PREFIX}${r.id}`, String(r.version)]));
    const keys = [...truth.keys()];
    const values = await redis.mget(...keys);
    const cached = new Map(keys.map((k, i) => [k, values[i] ?? null]));
    const stale = findStale(cached, truth);
    let l1: FaultRunReport['l1'] = null;
    if (cache.l1) {
      // A barrier, not a wait: resolves once L1 applied every invalidation Redis sent before it.
      await cache.invalidate({});
      const entries = cache.l1.entries();
      const l1Stale = findStale(new Map(entries.map(([k, v]) => [k, v.toString()])), truth);
      const s = cache.stats();
      l1 = { entries: entries.length, stale: l1Stale, hits: s.l1Hits, drops: s.l1?.drops ?? 0, flushes: s.l1?.flushes ?? 0 };
    }

    const match = matchLandings(commits, landings.map);
    const calm = commits.filter((c) => !downs.some((d) => c.commitMs >= d.from && c.commitMs <= d.to));
    const calmMatch = matchLandings(calm, landings.map);
    const recoveries = faultRecoveries(downs, commits, landings.map, wall0);
    const outside = outsideRecoveryWindows(commits, recoveries, wall0);
    const outsideMatch = matchLandings(outside, landings.map);
    const { fillRejected, fills, degraded } = cache.stats();
    passed = true;
    return {
      seed: options.seed,
      durationS: options.durationS,
      gapMs,
      downMs,
      changes: commits.length,
      faults,
      faultsByTarget: countByTarget(faults),
      restartRetries,
      selfExits,
      checkedKeys: keys.length,
      cachedKeys: values.filter((v) => v !== null).length,
      stale,
      l1,
      landed: match.latencies.length,
      unobserved: match.unmatched,
      latency: match.latencies.length ? summarize(match.latencies) : undefined,
      within100ms: sharesOf(match.latencies, commits.length, 100),
      within1s: sharesOf(match.latencies, commits.length, 1000),
      calm: {
        changes: calm.length,
        within100ms: sharesOf(calmMatch.latencies, calm.length, 100),
        within1s: sharesOf(calmMatch.latencies, calm.length, 1000),
      },
      outsideRecovery: {
        changes: outside.length,
        within100ms: sharesOf(outsideMatch.latencies, outside.length, 100),
        within1s: sharesOf(outsideMatch.latencies, outside.length, 1000),
      },
      recoveries,
      recoveryByTarget: recoveryByTarget(recoveries),
      downtimes: downs.map((d) => ({ target: d.target, fromS: round((d.from - wall0) / 1000), toS: round((d.to - wall0) / 1000) })),
      timeline: latencyTimeline(commits, landings.map, wall0, 10),
      progress,
      evictdOwn: evictdOwn.total ? { observed: evictdOwn.total.count, within100ms: shareAtMost(evictdOwn.total, 0.1), within1s: shareAtMost(evictdOwn.total, 1) } : null,
      quiescenceS,
      reads,
      degraded,
      readErrors,
      fills,
      fillsRejected: fillRejected,
      observerReconnects: observer.reconnects,
      missedWrites,
      failedWrites,
      missedLoads,
      tableWide: tableWide.map((w) => {
        const next = shapeWrites.find((at) => at >= w.at);
        return { kind: w.kind, atS: round((w.at - wall0) / 1000), changes: w.changes, flushAfterMs: next === undefined ? null : round(next - w.at) };
      }),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await pool.end().catch(() => undefined);
    redis.disconnect();
    await stack.stop();
    if (passed && !options.keepLogs) rmSync(work, { recursive: true, force: true });
    else log(`evictd logs kept in ${work}`);
  }
}

/** The closing lines of a run, for the console and the issue note. */
export function describeReport(r: FaultRunReport): string {
  const n = (x: Nines) => `${round(x.share * 100)}% (${round(x.nines)}${x.lowerBound ? '+' : ''} nines)`;
  const ms = (x: number | null) => (x === null ? '-' : x === Infinity ? 'never' : String(Math.round(x)));
  const by = Object.entries(r.faultsByTarget).map(([t, c]) => `${t} ${c}`).join(', ');
  return [
    `seed ${r.seed}, ${r.durationS} s (faults every ${r.gapMs.join('-')} ms, down ${r.downMs.join('-')} ms): ${r.changes} changes, ${r.faults.length} faults injected (${by}), ${r.restartRetries} restart retries, ${r.selfExits.length === 0 ? 'no evictd exited by itself' : `evictd exited by itself ${r.selfExits.map((e) => `${e.role}@${e.atS}s`).join(', ')} (spawned again)`}`,
    `stale entries: ${r.stale.length} of ${r.cachedKeys} cached keys (${r.checkedKeys} checked)`,
    `invalidations landed within 100 ms: ${n(r.within100ms)}; within 1 s: ${n(r.within1s)}; never observed: ${r.unobserved}`,
    `  of the ${r.calm.changes} changes committed while every part was up: within 100 ms ${n(r.calm.within100ms)}, within 1 s ${n(r.calm.within1s)}`,
    `  of the ${r.outsideRecovery.changes} changes committed outside every fault's recovery window (kill to backlog drained): within 100 ms ${n(r.outsideRecovery.within100ms)}, within 1 s ${n(r.outsideRecovery.within1s)}`,
    `recovery, part answering -> first invalidation / -> backlog drained (ms, p50/max over the faults that recovered alone): ${r.recoveryByTarget.map((b) => `${b.target} ${b.alone} of ${b.faults}: ${ms(b.firstMs.p50)}/${ms(b.firstMs.max)}, ${ms(b.drainedMs.p50)}/${ms(b.drainedMs.max)}`).join('; ') || 'no faults'}`,
    `per fault (s after start, kill-answer: first/drained ms after answering, backlog, * = another part down meanwhile): ${r.recoveries.map((f) => `${f.target} ${round(f.fromS)}-${round(f.toS)}: ${ms(f.firstMs)}/${ms(f.drainedMs)} (${f.backlog})${f.overlapped ? '*' : ''}`).join(', ')}`,
    `latency by commit time (10 s buckets, p50/max s): ${r.timeline.map((b) => `${b.fromS}s ${b.p50Ms === null ? '-' : round(b.p50Ms / 1000)}/${b.maxMs === null ? '-' : round(b.maxMs / 1000)}`).join(', ')}`,
    `evictd counters (s: published/invalidated since each process start, harness event-loop delay max ms): ${r.progress.map((p) => `${p.tS} ${p.published ?? '-'}/${p.invalidated ?? '-'} ${p.harnessDelayMaxMs}`).join(', ')}`,
    r.evictdOwn
      ? `evictd's own commit -> Redis confirmed histogram (${r.evictdOwn.observed} observed): within 100 ms ${round(r.evictdOwn.within100ms * 100)}%, within 1 s ${round(r.evictdOwn.within1s * 100)}%`
      : "evictd's own commit -> Redis confirmed histogram: not scraped",
    `down (s after start): ${r.downtimes.map((d) => `${d.target} ${d.fromS}-${d.toS}`).join(', ')}`,
    r.latency ? `commit -> marker latency: p50 ${round(r.latency.p50)} ms, p99 ${round(r.latency.p99)} ms, max ${round(r.latency.max)} ms` : 'no landing observed',
    r.l1 ? `L1 (readers' in-process tier): ${r.l1.stale.length} stale of ${r.l1.entries} entries at the end; ${r.l1.hits} L1 hits, ${r.l1.drops} drops, ${r.l1.flushes} flushes` : 'L1: off',
    `readers: ${r.reads} reads (of them served by the database while Redis was unusable: ${JSON.stringify(r.degraded)}), ${r.readErrors} errors, ${r.fills} fills, fills rejected by the fence: ${JSON.stringify(r.fillsRejected)}; quiescence took ${round(r.quiescenceS)} s; observer reconnects ${r.observerReconnects}`,
    `table-wide (s after start: flush seen after ms): ${r.tableWide.map((w) => `${w.kind} ${w.atS}s (${w.changes} ${w.kind === 'truncate' ? 'rows re-inserted' : 'changes without a slot'}): ${w.flushAfterMs ?? 'not seen'}`).join(', ') || 'none'}; writes/loads that found no row: ${r.missedWrites}/${r.missedLoads}; writes refused while Postgres was down: ${r.failedWrites}`,
  ].join('\n');
}
