// End to end on the real stack: `evictd run` (publisher + invalidator in one process) turns
// committed Postgres changes into Redis deletions; SIGTERM finishes, commits and exits 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createRedisLayout } from '@evictd/schemas';
import { stackEnv, uniqueName } from '../support/index.js';
import { cacheFixture, createProductsTable, productCache, productsTable, publishedCount, runYaml, spawnEvictdRun, testKafka, waitApplied, type EvictdProcess } from './invalidate-helpers.js';
import { dropSlot } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('e2e_inv');
const table = productsTable(ns);
const topic = `${ns}.public.${table}`;
const groupId = `${ns}_group`;
const layout = createRedisLayout({ keyPrefix: `${ns}:` });
const key = (name: string) => `${ns}:${name}`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const redis = new Redis(env.REDIS_URL);
const kafka = testKafka(env);
let evictd: EvictdProcess;

before(async () => {
  await db.connect();
  await createProductsTable(db, table);
  await db.query(`INSERT INTO ${table} SELECT g, 'p' || g, 1.00, 1 + g % 3, 5 FROM generate_series(1, 50) g`);
  evictd = await spawnEvictdRun(env, runYaml(ns, table));
});

after(async () => {
  if (evictd.child.exitCode === null) evictd.child.kill('SIGKILL');
  await evictd.exited;
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
  redis.disconnect();
});

const { setAll, filled, gone, tagged: tagSet } = cacheFixture(redis, layout);
const tagged = (tag: string, members: string[]) => tagSet(key(tag), members);

/** Waits until the invalidator committed every event published so far (the event count grew past `since`). */
const allApplied = (since: number) => waitApplied(kafka, groupId, topic, since, 1);

test('an UPDATE committed in Postgres removes the mapped keys and the members of the old and new tags', async () => {
  await setAll([key('product:1'), key('product:1:detail'), key('product:2')]);
  await tagged('category:2', [key('list:cat2')]);
  await tagged('category:3', [key('list:cat3')]);
  await tagged('category:1', [key('list:cat1')]);
  // Row 1 is in category 2 (1 + 1 % 3); it moves to category 3.
  await db.query(`UPDATE ${table} SET category_id = 3, name = 'moved' WHERE id = 1`);
  await gone([key('product:1'), key('product:1:detail'), key('list:cat2'), key('list:cat3')]);
  assert.equal(await redis.exists(key('product:2'), key('list:cat1')), 2, 'keys of other rows and tags stay');
});

test('a change to an unwatched column removes nothing', async () => {
  await setAll([key('product:5'), key('product:5:detail')]);
  const before = await publishedCount(kafka, topic);
  await db.query(`UPDATE ${table} SET stock = stock - 1 WHERE id = 5`);
  await allApplied(before);
  assert.equal(await redis.exists(key('product:5'), key('product:5:detail')), 2);
});

test('TRUNCATE removes all the keys and tags the table maps to', async () => {
  const cache = productCache(redis, ns, table);
  const names = Array.from({ length: 50 }, (_, i) => [key(`product:${i + 1}`), key(`product:${i + 1}:detail`)]).flat();
  // Earlier tests left some of these as plain SETs, which only the opt-in scan would find: start clean.
  await redis.unlink(...names, key('list:cat1'));
  await filled(cache, [...names, key('unrelated')]);
  await filled(cache, [key('list:cat1')], [key('category:1')]);
  await db.query(`TRUNCATE ${table}`);
  await gone([...names, key('list:cat1')]);
  assert.equal(await redis.get(key('unrelated')), 'cached');
});

test('/metrics and /healthz of the running process', async () => {
  const metrics = await (await fetch(`${evictd.http}/metrics`)).text();
  assert.match(metrics, /evictd_invalidate_events_total\{[^}]*outcome="invalidated"[^}]*\} [1-9]/);
  assert.match(metrics, /evictd_invalidate_commit_to_delete_seconds_bucket/);
  assert.match(metrics, /evictd_invalidate_consumer_lag\{/);
  const health = await fetch(`${evictd.http}/healthz`);
  assert.equal(health.status, 200);
});

test('SIGTERM: finishes, commits and exits 0', async () => {
  await db.query(`INSERT INTO ${table} VALUES (100, 'new', 2.00, 1, 1)`);
  await setAll([key('product:100')]);
  const before = await publishedCount(kafka, topic);
  await db.query(`UPDATE ${table} SET price = 3.00 WHERE id = 100`);
  await gone([key('product:100')]);
  await allApplied(before);
  evictd.child.kill('SIGTERM');
  assert.equal(await evictd.exited, 0, evictd.output().slice(-2000));
});
