// Table-wide invalidations (TRUNCATE, lost-slot flush, a template value the event lacks) against a
// real Redis, through the functions evictd invalidate runs: a fill held open lands at every step of
// the invalidation and no stale value survives; the cost follows the table, not the keyspace.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createKeyRegistry, createRedisLayout, type RedisLayout, type Shape } from '@evictd/schemas';
import { createCache, drainCleanup, flushShapes, pendingCleanups } from '@evictd/cache';
import { applyInvalidations, startCleaner } from '../../services/invalidator/src/redis/index.js';
import { createRedisTargetMetrics } from '../../services/invalidator/src/redis/metrics.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { createRegistry } from '../../services/invalidator/src/observability/metrics.js';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { heldRead } from './invalidate-helpers.js';

let redis: Redis;
before(() => {
  redis = new Redis(stackEnv().REDIS_URL);
});
after(() => redis.quit());

/** One table `public.notes` with a key template and a tag template, in a fresh namespace. */
function setup() {
  const ns = uniqueName('table_wide');
  const layout = createRedisLayout({ keyPrefix: `${ns}:` });
  const tables = { 'public.notes': { keys: [`${ns}:note:{id}`], tags: [`${ns}:author:{author_id}`] } };
  const registry = createKeyRegistry(tables);
  const cache = createCache({ redis, layout, registry, defaultTtlMs: 60_000 });
  const note = (id: number) => `${ns}:note:${id}`;
  /** What resolveChange makes of a TRUNCATE of public.notes: every template's shape. */
  const truncate: Shape[] = [
    { kind: 'key', shape: `${ns}:note:*` },
    { kind: 'tag', shape: `${ns}:author:*` },
  ];
  return { ns, layout, registry, cache, note, truncate };
}

async function cleanupSetsOf(layout: RedisLayout): Promise<string[]> {
  return pendingCleanups(redis, layout);
}

/** Values under the namespace that are still the pre-TRUNCATE ones ("old-…"). */
async function staleValues(names: string[]): Promise<string[]> {
  const values = await redis.mget(...names);
  return names.filter((_, i) => values[i]?.startsWith('old-'));
}

/**
 * The invalidation is run step by step: step 0 is flush.lua (markers, then the shape sets moved
 * aside), every further step one drain.lua slice of one key. The held fill lands before step
 * `landAt` (landAt = steps.length: after the last).
 */
async function truncateWithFillLandingAt(landAt: number): Promise<{ stale: string[]; outcome: string; steps: number }> {
  const { layout, cache, note, truncate } = setup();
  // Three rows cached before the TRUNCATE (one through its tag only), one being read right now.
  for (const id of [1, 2]) await cache.getOrLoad(note(id), async () => `old-${id}`);
  await cache.getOrLoad(note(3), async () => 'old-3', { tags: [`${layout.keyPrefix}author:7`] });
  const held = heldRead(cache, note(4), 'old-4', [`${layout.keyPrefix}author:7`]);
  await held.started;

  const before = cache.stats();
  let landed = false;
  const land = async () => {
    landed = true;
    await held.land();
  };
  let step = 0;
  if (landAt === step) await land();
  await flushShapes(redis, truncate, layout);
  step++;
  for (const set of await cleanupSetsOf(layout)) {
    for (;;) {
      if (landAt === step) await land();
      const { left } = await drainCleanup(redis, set, layout, 1);
      step++;
      if (left === 0) break;
    }
  }
  if (!landed) await land();
  // A fill that landed before the flush was detached with the others, and is drained with them.
  const after = cache.stats();
  const outcome = after.fills > before.fills ? 'filled' : 'refused';
  return { stale: await staleValues([1, 2, 3, 4].map(note)), outcome, steps: step };
}

test('a fill held open across a TRUNCATE lands at each step of it, and no stale value survives', async () => {
  const { steps } = await truncateWithFillLandingAt(0);
  // flush + one slice per cached key of each detached shape set (a fill that landed first is one more).
  assert.ok(steps >= 4, `expected at least 4 steps, got ${steps}`);
  for (let landAt = 0; landAt <= steps; landAt++) {
    const { stale, outcome } = await truncateWithFillLandingAt(landAt);
    assert.deepEqual(stale, [], `fill landing before step ${landAt} (${outcome}) left stale values`);
    // Landing before the first write it fills; after the flush the shape marker refuses it.
    assert.equal(outcome, landAt === 0 ? 'filled' : 'refused', `fill landing before step ${landAt}`);
  }
});

test('a TRUNCATE fences and detaches in one O(shapes) script: no SCAN, unrelated keys untouched', async () => {
  const { ns, layout, cache, note, truncate } = setup();
  for (let id = 1; id <= 50; id++) await cache.getOrLoad(note(id), async () => `old-${id}`);
  const unrelated = Array.from({ length: 2_000 }, (_, i) => `${ns}:other:${i}`);
  await redis.mset(...unrelated.flatMap((k) => [k, 'x']));
  const scans = async () => Number(/cmdstat_scan:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  const scansBefore = await scans();

  const result = await applyInvalidations(redis, layout, { keys: [], tags: [], keyShapes: [truncate[0]!.shape], tagShapes: [truncate[1]!.shape] }, {
    signal: new AbortController().signal,
    scanUnregistered: false,
  });
  assert.equal(result.detached, 50);
  assert.equal(result.roundTrips, 1, 'the whole fence is one script');
  assert.equal(await scans(), scansBefore, 'no SCAN on the default path');
  // Fenced at once: a read now misses nothing it should not, and a fill whose lease predates it is refused.
  assert.equal(await redis.exists(layout.shapeMarkerKey('key', truncate[0]!.shape)), 1);
  assert.equal((await cleanupSetsOf(layout)).length, 1);
  assert.equal(await redis.exists(...unrelated), unrelated.length);
});

test('the cleaner deletes detached keys in the background, and picks up what a crashed invalidator left', async () => {
  const { ns, layout, cache, note, truncate } = setup();
  const names = Array.from({ length: 2_500 }, (_, i) => note(i));
  // Filled through the protocol in parallel batches (each a real lease + fill).
  for (let i = 0; i < names.length; i += 250) await Promise.all(names.slice(i, i + 250).map((n) => cache.getOrLoad(n, async () => `old-${n}`)));
  await redis.set(`${ns}:other`, 'x');
  // No cleaner runs: as after a crash right after the flush was confirmed (and its offset committed).
  await flushShapes(redis, truncate, layout);
  assert.equal(await redis.exists(names[0]!), 1, 'the flush itself deletes nothing');

  const registry = createRegistry();
  const metrics = createRedisTargetMetrics(registry);
  const cleaner = startCleaner({ redis, layout, logger: createLogger('cleaner-test', 'silent'), metrics, sliceKeys: 100, sweepMs: 200 });
  try {
    await waitFor(async () => (await cleanupSetsOf(layout)).length === 0, { timeoutMs: 60_000, what: 'the cleanup index to empty' });
    let left = 0;
    for (let i = 0; i < names.length; i += 1000) left += await redis.exists(...names.slice(i, i + 1000));
    assert.equal(left, 0);
    assert.equal(await redis.get(`${ns}:other`), 'x');
    assert.match(await registry.metrics(), /evictd_invalidate_cleanup_deleted_total 2500/);
  } finally {
    await cleaner.stop();
  }
});

test('after a TRUNCATE new fills start a new shape set and are protected by the next one', async () => {
  const { layout, cache, note, truncate } = setup();
  await cache.getOrLoad(note(1), async () => 'old-1');
  await flushShapes(redis, truncate, layout);
  for (const set of await cleanupSetsOf(layout)) while ((await drainCleanup(redis, set, layout, 1000)).left > 0);
  assert.equal(await cache.getOrLoad(note(1), async () => 'new-1'), 'new-1');
  assert.equal(await redis.get(note(1)), 'new-1', 'a fill whose lease began after the fence lands');
  await flushShapes(redis, truncate, layout);
  for (const set of await cleanupSetsOf(layout)) while ((await drainCleanup(redis, set, layout, 1000)).left > 0);
  assert.equal(await redis.get(note(1)), null);
});

test('shape sets keep only live keys: expired members are pruned by later fills', async () => {
  const { layout, cache, note, truncate } = setup();
  await cache.getOrLoad(note(1), async () => 'short', { ttlMs: 50 });
  await waitFor(async () => (await redis.exists(note(1))) === 0, { timeoutMs: 10_000, what: 'the short-lived value to expire' });
  await cache.getOrLoad(note(2), async () => 'long');
  const set = layout.shapeSetKey('key', truncate[0]!.shape);
  assert.deepEqual(await redis.zrange(set, 0, -1), [note(2)]);
  assert.ok((await redis.pttl(set)) > 50_000, 'the set lives as long as its newest member');
});

test('scanUnregistered also deletes keys written outside the protocol; without it they are left', async () => {
  const { ns, layout, truncate } = setup();
  const plain = [`${ns}:note:1`, `${ns}:note:2`];
  const tagged = `${ns}:list:7`;
  const run = (scanUnregistered: boolean) =>
    applyInvalidations(redis, layout, { keys: [], tags: [], keyShapes: [truncate[0]!.shape], tagShapes: [truncate[1]!.shape] }, { signal: new AbortController().signal, scanUnregistered });
  await redis.mset(...plain.flatMap((k) => [k, 'old']), tagged, 'old', `${ns}:other`, 'x');
  await redis.sadd(layout.tagSetKey(`${ns}:author:7`), tagged);
  await run(false);
  assert.equal(await redis.exists(...plain, tagged), 3, 'plain SETs are invisible to the default path');
  await run(true);
  assert.equal(await redis.exists(...plain, tagged), 0);
  assert.equal(await redis.get(`${ns}:other`), 'x');
  assert.equal(await redis.exists(layout.shapeMarkerKey('key', truncate[0]!.shape)), 1, 'evictd\'s own keys are not taken for app keys');
});
