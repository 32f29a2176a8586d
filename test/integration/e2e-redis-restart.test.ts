// Redis killed (SIGKILL) and restarted in the middle of 10,000 committed Postgres updates, with
// `evictd run` streaming them: afterwards no key an update maps to still holds the value cached
// before that update. The Redis here is private to this file and keeps an fsync-always
// append-only file, so a restart brings back exactly what it had acknowledged: keys whose
// deletion was not confirmed come back, and the invalidator must still delete them. (The stack's
// Redis has no persistence: a restart would empty it and hide a skipped invalidation.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, guardChild } from '@evictd/infra';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { countExisting, createProductsTable, productsTable, runYaml, spawnEvictdRun, testKafka, waitCommittedToEnd, type EvictdProcess } from './invalidate-helpers.js';
import { dropSlot } from './publish-helpers.js';

const ROWS = 10_000;
const ROWS_PER_TXN = 100;
const env = stackEnv();
const ns = uniqueName('e2e_restart');
const table = productsTable(ns);
const dir = mkdtempSync(join(tmpdir(), 'evictd-e2e-redis-'));
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const allKeys = Array.from({ length: ROWS }, (_, i) => `${ns}:product:${i + 1}`);
let port: number;
let server: ChildProcess | undefined;
let redis: Redis;
let evictd: EvictdProcess | undefined;

async function startRedis(): Promise<void> {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
  guardChild(server);
  await waitFor(async () => (await redis.ping().catch(() => null)) === 'PONG', { timeoutMs: 20_000, what: 'the private redis-server answering' });
}

async function killRedis(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Rows (from, to] updated in transactions of ROWS_PER_TXN. */
async function updateRows(from: number, to: number): Promise<void> {
  for (let id = from; id < to; id += ROWS_PER_TXN) {
    await db.query(`UPDATE ${table} SET price = price + 1 WHERE id > $1 AND id <= $2`, [id, Math.min(to, id + ROWS_PER_TXN)]);
  }
}

before(async () => {
  port = await freePort();
  redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => {}); // expected while the server is down
  await startRedis();
  await db.connect();
  await createProductsTable(db, table);
  await db.query(`INSERT INTO ${table} SELECT g, 'p' || g, 1.00, 1, 5 FROM generate_series(1, ${ROWS}) g`);
  evictd = await spawnEvictdRun({ ...env, REDIS_URL: `redis://127.0.0.1:${port}` }, runYaml(ns, table));
});

after(async () => {
  if (evictd && evictd.child.exitCode === null) evictd.child.kill('SIGKILL');
  await evictd?.exited;
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
  redis.disconnect();
  await killRedis();
  rmSync(dir, { recursive: true, force: true });
});

test('no committed update is skipped while Redis is down: every value cached before its update is gone after the restart', async () => {
  const http = evictd!.http;
  // The values cached before the updates (the rows were inserted before evictd's slot existed: no insert events).
  for (let i = 0; i < ROWS; i += 1000) await redis.mset(...allKeys.slice(i, i + 1000).flatMap((k) => [k, 'cached-before-update']));

  await updateRows(0, 3_000);
  await waitFor(async () => (await countExisting(redis, allKeys)) < ROWS - 1_000, { timeoutMs: 60_000, what: 'the first deletions' });
  await killRedis();
  await updateRows(3_000, ROWS);
  // The invalidator hit the outage and is retrying, not skipping.
  await waitFor(async () => /^evictd_invalidate_redis_retries_total\{[^}]*\} [1-9]/m.test(await (await fetch(`${http}/metrics`)).text()), { timeoutMs: 60_000, what: 'Redis retries' });
  assert.equal((await fetch(`${http}/healthz`)).status, 503, 'health reports Redis down');

  // The keys of the updates not yet applied come back from the append-only file.
  await startRedis();
  await waitFor(async () => (await countExisting(redis, allKeys)) === 0, { timeoutMs: 120_000, what: 'every updated key deleted after the restart' });
  await waitCommittedToEnd(testKafka(env), `${ns}_group`, `${ns}.public.${table}`, 60_000);
  assert.equal((await fetch(`${http}/healthz`)).status, 200);
});
