/**
 * Scenario truncate-1m (issue #10): with 1,000,000 unrelated keys in Redis, how long after the
 * commit of `TRUNCATE a` are a's 1,000 cached keys gone, and does a change to table b committed
 * right after it wait behind it?
 *
 * Each repetition: a's keys filled through the real createCache with the key registry (so they are
 * in a's shape set), one b key cached; a baseline UPDATE of b alone; then `TRUNCATE a` and, in the
 * next transaction, an UPDATE of another cached b row. Times are from the commit (the server's
 * clock_timestamp() just before COMMIT) to Redis's keyspace `del` notification of each key, the
 * same observer as the latency steps; an EXISTS over a's keys afterwards checks that all are gone.
 *
 * Comparison row (the old path): a's keys written with plain MSET (outside the protocol, in no
 * shape set) and the invalidator run with `invalidate.scanUnregistered: true`, so only its SCAN of
 * the whole keyspace finds them.
 */
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { createCache, createKeyRegistry } from '@evictd/cache';
import { freePort } from '@evictd/infra';
import { evictdProcess, pipelineConfig, waitWhileAlive, type EvictdRuntime } from './evictd.js';
import { observeKeyspace } from './observer.js';
import { round, summarize } from './stats.js';

export interface TruncateRun {
  /** commit of TRUNCATE a -> the last of a's keys deleted, ms. */
  truncateToAllGoneMs: number;
  /** commit of b's UPDATE right after the TRUNCATE -> b's key deleted, ms. */
  nextChangeMs: number;
  /** commit of b's UPDATE with no TRUNCATE before it -> b's key deleted, ms (same repetition). */
  baselineChangeMs: number;
}

export interface TruncateVariant {
  /** 'registry': fills through createCache (shape sets, flush + cleaner); 'scan': plain SET, found by invalidate.scanUnregistered. */
  path: 'registry' | 'scan';
  runs: TruncateRun[];
  truncateToAllGone: { p50: number; max: number };
  nextChange: { p50: number; max: number };
  baselineChange: { p50: number; max: number };
}

export interface Truncate1mResults {
  startedAt: string;
  unrelatedKeys: number;
  tableKeys: number;
  /** How "unreadable" was observed. */
  observedBy: string;
  variants: TruncateVariant[];
}

export interface Truncate1mOptions {
  env: { DATABASE_URL: string; KAFKA_BROKERS: string; REDIS_URL: string };
  pool: Pool;
  dir: string;
  runtime: EvictdRuntime;
  /** Node binary of the evictd children (BENCH_NODE). */
  node?: string;
  repeats: number;
  /** Repetitions of the scan comparison (0: skip it). */
  scanRepeats: number;
  unrelatedKeys?: number;
  log: (message: string) => void;
}

const NAME = 'evictd_bench_tw';
const A = 'public.tw_a';
const B = 'public.tw_b';
const A_KEY = 'tw:a:';
const B_KEY = 'tw:b:';
const ROWS = 1_000;
const TABLES = { [A]: { keys: [`${A_KEY}{id}`] }, [B]: { keys: [`${B_KEY}{id}`] } };


/** 1,000 keys per MSET, 10 MSETs per pipelined round trip. */
async function msetKeys(redis: Redis, count: number, key: (i: number) => string): Promise<void> {
  for (let i = 0; i < count; i += 10_000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(i + 10_000, count); j += 1000) {
      const args: string[] = [];
      for (let k = j; k < Math.min(j + 1000, count); k += 1) args.push(key(k), 'unrelated');
      p.mset(...args);
    }
    await p.exec();
  }
}

const p50max = (xs: number[]) => {
  const s = summarize(xs);
  return { p50: round(s.p50), max: round(s.max) };
};

export async function runTruncate1m(o: Truncate1mOptions): Promise<Truncate1mResults> {
  const unrelated = o.unrelatedKeys ?? 1_000_000;
  const redis = new Redis(o.env.REDIS_URL);
  const startedAt = new Date().toISOString();
  const deleted = new Map<string, number>();
  const observer = observeKeyspace({ redisUrl: o.env.REDIS_URL, events: ['del'], onKey: (key, at) => key.startsWith('tw:') && deleted.set(key, at) });
  let invalidator: ReturnType<typeof evictdProcess> | undefined;
  let publisher: ReturnType<typeof evictdProcess> | undefined;
  const waitUntil = (what: string, check: () => boolean, timeoutMs: number) =>
    waitWhileAlive(`truncate-1m: ${what}`, check, timeoutMs, [publisher, invalidator].filter((p) => p !== undefined));
  try {
    await observer.ready;
    await o.pool.query(`DROP TABLE IF EXISTS ${A}, ${B}`);
    await o.pool.query(`CREATE TABLE ${A} (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)`);
    await o.pool.query(`CREATE TABLE ${B} (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)`);
    await o.pool.query(`INSERT INTO ${A} (id) SELECT generate_series(1, ${ROWS})`);
    await o.pool.query(`INSERT INTO ${B} (id) SELECT generate_series(1, ${ROWS})`);
    o.log(`truncate-1m: loading ${unrelated} unrelated keys (pipelined MSET)`);
    await msetKeys(redis, unrelated, (i) => `bench:unrelated:${i}`);

    const registry = createKeyRegistry(TABLES);
    const cache = createCache({ redis, registry, defaultTtlMs: 600_000 });
    const start = async (scanUnregistered: boolean) => {
      const config = (port: number) => {
        const c = pipelineConfig({ env: o.env, name: NAME, tables: TABLES, httpPort: port });
        (c.invalidate as Record<string, unknown>).scanUnregistered = scanUnregistered;
        return c;
      };
      publisher ??= evictdProcess({ command: 'publish', config: config(await freePort()), dir: o.dir, runtime: o.runtime, node: o.node });
      if (publisher.pid === undefined) await publisher.start(120_000);
      invalidator = evictdProcess({ command: 'invalidate', config: config(await freePort()), dir: `${o.dir}/tw-${scanUnregistered ? 'scan' : 'registry'}`, runtime: o.runtime, node: o.node });
      await invalidator.start(120_000);
    };

    let nextB = 1;
    /** Commits `sql` in its own transaction; returns the server time just before the commit. */
    const commit = async (sql: string): Promise<number> => {
      const client = await o.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(sql);
        const { rows } = await client.query<{ t: string }>('SELECT extract(epoch from clock_timestamp()) * 1000 AS t');
        await client.query('COMMIT');
        return Number(rows[0]!.t);
      } finally {
        client.release();
      }
    };
    const cacheB = async (id: number) => {
      const key = `${B_KEY}${id}`;
      deleted.delete(key);
      await cache.getOrLoad(key, () => `b-${id}`);
      if ((await redis.exists(key)) !== 1) throw new Error(`truncate-1m: ${key} was not filled`);
      return key;
    };
    const deletedAfter = async (key: string, committed: number) => {
      await waitUntil(`deletion of ${key}`, () => deleted.has(key), 60_000);
      return deleted.get(key)! - committed;
    };

    const variant = async (path: TruncateVariant['path'], repeats: number): Promise<TruncateVariant> => {
      const runs: TruncateRun[] = [];
      for (let r = 0; r < repeats; r += 1) {
        const aKeys = Array.from({ length: ROWS }, (_, i) => `${A_KEY}${i + 1}`);
        for (const k of aKeys) deleted.delete(k);
        if (path === 'registry') {
          // 50 fills at a time, each a real lease + fenced fill joining a's shape set.
          for (let i = 0; i < aKeys.length; i += 50) await Promise.all(aKeys.slice(i, i + 50).map((k) => cache.getOrLoad(k, () => `a-${k}`)));
        } else {
          await redis.mset(...aKeys.flatMap((k) => [k, 'plain']));
        }
        const present = (await redis.exists(...aKeys)) as number;
        if (present !== ROWS) throw new Error(`truncate-1m: only ${present} of ${ROWS} keys of ${A} are cached before the TRUNCATE`);

        const baseKey = await cacheB(nextB++);
        const baselineChangeMs = await deletedAfter(baseKey, await commit(`UPDATE ${B} SET v = v + 1 WHERE id = ${nextB - 1}`));

        const nextKey = await cacheB(nextB++);
        const truncated = await commit(`TRUNCATE ${A}`);
        const changed = await commit(`UPDATE ${B} SET v = v + 1 WHERE id = ${nextB - 1}`);
        await waitUntil(`all ${ROWS} keys of ${A} deleted`, () => aKeys.every((k) => deleted.has(k)), 120_000);
        const nextChangeMs = await deletedAfter(nextKey, changed);
        const truncateToAllGoneMs = Math.max(...aKeys.map((k) => deleted.get(k)!)) - truncated;
        let left = 0;
        for (let i = 0; i < aKeys.length; i += 100) left += (await redis.exists(...aKeys.slice(i, i + 100))) as number;
        if (left !== 0) throw new Error(`truncate-1m: ${left} keys of ${A} still exist after their deletions were notified`);
        runs.push({ truncateToAllGoneMs: round(truncateToAllGoneMs), nextChangeMs: round(nextChangeMs), baselineChangeMs: round(baselineChangeMs) });
        o.log(`  ${path} #${r + 1}: TRUNCATE -> all ${ROWS} gone ${round(truncateToAllGoneMs)} ms; next change ${round(nextChangeMs)} ms (baseline ${round(baselineChangeMs)} ms)`);
      }
      return {
        path,
        runs,
        truncateToAllGone: p50max(runs.map((x) => x.truncateToAllGoneMs)),
        nextChange: p50max(runs.map((x) => x.nextChangeMs)),
        baselineChange: p50max(runs.map((x) => x.baselineChangeMs)),
      };
    };

    const variants: TruncateVariant[] = [];
    o.log(`truncate-1m: ${o.repeats} × TRUNCATE ${A} (keys filled through createCache + registry)`);
    await start(false);
    variants.push(await variant('registry', o.repeats));
    if (o.scanRepeats > 0) {
      await invalidator!.stop();
      o.log(`truncate-1m: ${o.scanRepeats} × the old path (plain SET keys, invalidate.scanUnregistered: true)`);
      await start(true);
      variants.push(await variant('scan', o.scanRepeats));
    }
    return {
      startedAt,
      unrelatedKeys: unrelated,
      tableKeys: ROWS,
      observedBy: 'keyspace notifications (__keyevent@0__:del) on a dedicated subscriber; EXISTS over every key afterwards confirms none is left',
      variants,
    };
  } finally {
    await Promise.allSettled([publisher?.stop(), invalidator?.stop()]);
    await o.pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [NAME]).catch(() => undefined);
    await o.pool.query(`DROP PUBLICATION IF EXISTS ${NAME}`).catch(() => undefined);
    await o.pool.query(`DROP TABLE IF EXISTS ${A}, ${B}`).catch(() => undefined);
    await observer.close();
    redis.disconnect();
  }
}
