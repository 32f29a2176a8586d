/**
 * The invalidator's memory on its own: a backlog of MEM_EVENTS change events (default 300,000)
 * written straight into Kafka before `evictd invalidate` starts, then the same number again as a
 * burst while it runs. Reports, per phase, peak RSS (/proc), drain time and rate. Private stack.
 *
 *   node --conditions=development --import tsx bench/src/faults/invalidator-memory.ts
 *
 * MEM_EVENTS, MEM_RUNTIME=tsx|dist (default tsx), MEM_NODE_OPTIONS (NODE_OPTIONS of the invalidator
 * only, e.g. --max-old-space-size=96), MEM_PARTITIONS (default 6).
 * No Postgres changes are made: only the invalidator is measured, fed as fast as Kafka takes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import pg from 'pg';
import { CONNECTOR, OP } from '@evictd/schemas';
import { freePort, startStack } from '@evictd/infra';
import { evictdProcess, pipelineConfig, type EvictdRuntime } from '../evictd.js';
import { parseGauge, scrape } from '../metrics.js';
import { watchProcess } from '../proc.js';
import { round } from '../stats.js';

const env = process.env;
const EVENTS = Number(env.MEM_EVENTS ?? 300_000);
const PARTITIONS = Number(env.MEM_PARTITIONS ?? 6);
const RUNTIME: EvictdRuntime = env.MEM_RUNTIME === 'dist' ? 'dist' : 'tsx';
const NAME = 'evictd_mem';
const TABLE = 'mem_items';
const TOPIC = `${NAME}.public.${TABLE}`;
const ROWS = 100_000;

const log = (m: string) => process.stdout.write(`[mem ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function event(id: number, version: number, now: number): string {
  return JSON.stringify({
    before: null,
    after: { id, version, name: `item ${id} `.padEnd(120, '.') },
    op: OP.UPDATE,
    source: { connector: CONNECTOR, name: NAME, db: 'app', schema: 'public', table: TABLE, txId: 1000 + version, lsn: 1_000_000 + version, ts_ms: now, snapshot: 'false' },
    ts_ms: now,
  });
}

const stack = await startStack({ handleSignals: true });
const work = mkdtempSync(join(tmpdir(), 'evictd-mem-'));
const kafka = new Kafka({ clientId: `${NAME}-load`, brokers: stack.env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
let invalidator: ReturnType<typeof evictdProcess> | undefined;
try {
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  await db.query(`CREATE TABLE public.${TABLE} (id int PRIMARY KEY, version int NOT NULL DEFAULT 0, name text)`);
  await db.end();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await producer.connect();

  let version = 0;
  const produce = async (n: number) => {
    const t0 = Date.now();
    for (let sent = 0; sent < n; ) {
      const size = Math.min(5_000, n - sent);
      const now = Date.now();
      const messages = Array.from({ length: size }, (_, i) => {
        const id = 1 + ((sent + i) % ROWS);
        version += 1;
        return { key: JSON.stringify({ id }), value: event(id, version, now) };
      });
      await producer.send({ topic: TOPIC, messages });
      sent += size;
    }
    return (Date.now() - t0) / 1000;
  };
  const lag = async () => {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(TOPIC), admin.fetchOffsets({ groupId: `${NAME}-cache`, topics: [TOPIC] })]);
    const at = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    return ends.reduce((sum, e) => {
      const done = at.get(e.partition) ?? -1n; // -1: nothing committed yet
      return sum + Number(BigInt(e.high) - (done < 0n ? BigInt(e.low) : done));
    }, 0);
  };
  const drained = async (deadlineMs: number) => {
    const t0 = Date.now();
    for (;;) {
      if ((await lag()) === 0) return (Date.now() - t0) / 1000;
      if (Date.now() - t0 > deadlineMs) throw new Error(`invalidator did not drain within ${deadlineMs} ms (log: ${invalidator?.logFile})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  log(`writing a backlog of ${EVENTS} events into ${TOPIC} (${PARTITIONS} partitions)`);
  const backlogWriteS = await produce(EVENTS);
  const httpPort = await freePort();
  invalidator = evictdProcess({
    command: 'invalidate',
    dir: work,
    runtime: RUNTIME,
    config: pipelineConfig({ env: stack.env, name: NAME, tables: { [`public.${TABLE}`]: { keys: ['mi:{id}'] } }, httpPort }),
    ...(env.MEM_NODE_OPTIONS ? { env: { NODE_OPTIONS: env.MEM_NODE_OPTIONS } } : {}),
  });
  const load0 = loadavg()[0]!;
  const started = Date.now();
  await invalidator.start(120_000);
  const watch = watchProcess(invalidator.pid!, 100);
  const backlogS = await drained(600_000);
  const backlog = watch.stop();
  const heapOf = async () => parseGauge(await scrape(invalidator!.metricsUrl), 'evictd_nodejs_heap_size_used_bytes');
  log(`backlog: drained ${EVENTS} in ${round(backlogS)} s after healthy (${round((Date.now() - started) / 1000)} s after spawn), peak RSS ${round(backlog.rssPeakMiB)} MiB, CPU ${round(backlog.cpuPercent)} %`);

  const burstWatch = watchProcess(invalidator.pid!, 100);
  const burstT0 = Date.now();
  const burstWriteS = await produce(EVENTS);
  const burstS = await drained(600_000);
  const burst = burstWatch.stop();
  const heap = await heapOf().catch(() => null);
  log(`burst: ${EVENTS} written in ${round(burstWriteS)} s while running, drained ${round((Date.now() - burstT0) / 1000)} s after the burst began (${round(burstS)} s after its last write), peak RSS ${round(burst.rssPeakMiB)} MiB, CPU ${round(burst.cpuPercent)} %`);
  const result = {
    events: EVENTS,
    partitions: PARTITIONS,
    runtime: RUNTIME,
    nodeOptions: env.MEM_NODE_OPTIONS ?? '',
    loadAverage: { before: round(load0), after: round(loadavg()[0]!) },
    backlog: { writeS: round(backlogWriteS), drainS: round(backlogS), eventsPerS: round(EVENTS / backlogS), rssPeakMiB: round(backlog.rssPeakMiB), cpuPercent: round(backlog.cpuPercent) },
    burst: { writeS: round(burstWriteS), drainAfterStartS: round((Date.now() - burstT0) / 1000), rssPeakMiB: round(burst.rssPeakMiB), cpuPercent: round(burst.cpuPercent) },
    heapUsedAtEndMiB: heap === null || heap === undefined ? null : round(heap / 2 ** 20),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await invalidator.stop(30_000);
} finally {
  await invalidator?.kill().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
}
