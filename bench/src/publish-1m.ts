/**
 * One transaction updating N rows (default 1,000,000) through `evictd publish`: prints the
 * publisher's peak RSS and events/s from commit until Kafka holds every event. Bounded memory is
 * the point (DESIGN guarantee 4): the stream is paused while the producer holds maxInFlightBytes.
 *
 *   node --conditions=development --import tsx bench/src/publish-1m.ts [--rows N] [--runtime tsx|dist] [--node PATH] [--max-in-flight-mib N]
 *
 * Prints the publisher's CPU µs per event too (CPU seconds from /proc over events): the figure that
 * holds on a busy machine. --node runs the publisher on another Node (e.g. .ci/node24/...).
 *
 * Uses DATABASE_URL/KAFKA_BROKERS when set, else starts Postgres and Kafka itself.
 * V8 grows its heap lazily when memory is plentiful, so peak RSS includes garbage not yet
 * collected; NODE_OPTIONS=--max-old-space-size=N (inherited by the publisher) shows the live bound.
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { freePort, startStack, waitFor } from '@evictd/infra';
import { evictdProcess, nodeVersion, pipelineConfig, type EvictdRuntime } from './evictd.js';
import { parseGauge, scrape } from './metrics.js';
import { watchProcess } from './proc.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runtime: { type: 'string', default: 'tsx' }, 'max-in-flight-mib': { type: 'string' }, node: { type: 'string' }, publish: { type: 'string' } } });
const rows = Number(values.rows);
const runtime = values.runtime as EvictdRuntime;
const name = `bench1m_${Date.now().toString(36)}`;
const table = `${name}_rows`;
const topic = `${name}.public.${table}`;

const external = process.env.DATABASE_URL && process.env.KAFKA_BROKERS;
const stack = external ? null : await startStack({ services: ['postgres', 'kafka'], handleSignals: true });
const env = {
  DATABASE_URL: process.env.DATABASE_URL ?? stack!.env.DATABASE_URL,
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? stack!.env.KAFKA_BROKERS,
  REDIS_URL: 'redis://127.0.0.1:1', // the publisher never uses Redis
};
const db = new pg.Client({ connectionString: env.DATABASE_URL });
await db.connect();
const kafka = new Kafka({ clientId: 'bench-publish-1m', brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();

const log = (line: string) => console.error(`[publish-1m ${new Date().toISOString().slice(11, 19)}] ${line}`);
try {
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`);
  await db.query(`INSERT INTO ${table} SELECT g, 0, repeat('x', 40) FROM generate_series(1, ${rows}) g`);
  log(`${rows} rows loaded`);

  const config = pipelineConfig({ env, name, tables: { [`public.${table}`]: { keys: ['r:{id}'] } }, httpPort: await freePort() });
  // --publish '{"maxBatchEvents":1000}': other publish settings, for experiments.
  const publish = { ...(values.publish ? (JSON.parse(values.publish) as Record<string, number>) : {}), ...(values['max-in-flight-mib'] ? { maxInFlightBytes: Number(values['max-in-flight-mib']) * 1024 * 1024 } : {}) };
  if (Object.keys(publish).length > 0) Object.assign(config, { publish });
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const publisher = evictdProcess({ command: 'publish', config, dir, runtime, cpuProfile: Boolean(process.env.PUBLISH_1M_PROFILE), ...(values.node ? { node: values.node } : {}) });
  await publisher.start(120_000);
  const idle = watchProcess(publisher.pid!);
  const idleRssMiB = idle.stop().rssPeakMiB;
  const watch = watchProcess(publisher.pid!);
  // V8's own view beside RSS: what the heap holds at its peak (garbage included) and off-heap buffers.
  const peaks = { heapUsedMiB: 0, heapTotalMiB: 0, externalMiB: 0 };
  const sampler = setInterval(() => {
    void scrape(publisher.metricsUrl).then((text) => {
      const mib = (name: string) => (parseGauge(text, name) ?? 0) / 2 ** 20;
      peaks.heapUsedMiB = Math.max(peaks.heapUsedMiB, mib('evictd_nodejs_heap_size_used_bytes'));
      peaks.heapTotalMiB = Math.max(peaks.heapTotalMiB, mib('evictd_nodejs_heap_size_total_bytes'));
      peaks.externalMiB = Math.max(peaks.externalMiB, mib('evictd_nodejs_external_memory_bytes'));
    }, () => undefined);
  }, 250);
  const total = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);

  const t0 = performance.now();
  await db.query(`UPDATE ${table} SET v = v + 1`);
  const committed = performance.now();
  log(`one transaction updated ${rows} rows in ${((committed - t0) / 1000).toFixed(1)} s`);
  await waitFor(async () => (await total()) >= rows, { timeoutMs: 30 * 60_000, intervalMs: 500, what: `${rows} events on ${topic}` });
  const done = performance.now();
  const usage = watch.stop();
  clearInterval(sampler);
  await publisher.stop();

  const seconds = (done - committed) / 1000;
  const result = { rows, runtime, node: nodeVersion(values.node ?? process.execPath), publish: Object.keys(publish).length > 0 ? publish : 'defaults', publisherCpuUsPerEvent: Number(((1e6 * usage.cpuSeconds) / rows).toFixed(2)), loadAverage: loadavg().map((l) => Number(l.toFixed(2))), commitToAllOnKafkaSeconds: Number(seconds.toFixed(1)), eventsPerSecond: Math.round(rows / seconds), publisherIdleRssMiB: Number(idleRssMiB.toFixed(1)), publisherPeakRssMiB: Number(usage.rssPeakMiB.toFixed(1)), publisherCpuPercent: Math.round(usage.cpuPercent), peakMiB: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Number(v.toFixed(1))])), logsAndProfiles: dir };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [name]).catch(() => undefined);
  await db.query(`DROP PUBLICATION IF EXISTS ${name}`).catch(() => undefined);
  await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await db.end();
  await stack?.stop();
}
