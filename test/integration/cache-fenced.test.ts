// packages/cache against a real Redis: fills, stampede control, lease loss, markers, tags, large invalidations.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createKeyRegistry, createRedisLayout, type RedisLayout } from '@evictd/schemas';
import { codecs, createCache, invalidateKeysAndTags, type CacheOptions } from '@evictd/cache';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';

let redis: Redis;

before(() => {
  redis = new Redis(stackEnv().REDIS_URL);
});
after(() => redis.quit());

/** A fresh namespace per test: evictd's keys under `prefix`, app keys built with app(). */
function namespace(opts: { markerTtlMs?: number; leaseTtlMs?: number } = {}) {
  const prefix = `${uniqueName('cache_fenced')}:`;
  const layout = createRedisLayout({ keyPrefix: prefix, ...opts });
  return { prefix, layout, app: (name: string) => `${prefix}app:${name}` };
}

/** These tests exercise the protocol itself: no rules, so fills join no shape. */
const noRules = createKeyRegistry({});

function cacheFor(layout: RedisLayout, extra: Partial<CacheOptions> = {}) {
  return createCache({ redis, layout, registry: noRules, defaultTtlMs: 60_000, ...extra });
}

/** Everything under a prefix, as after a Redis restart that lost the namespace. */
async function flushPrefix(prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.unlink(...keys);
}

test('a miss loads and fills, the next call hits; stats count both', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const key = app('p1');
  let loads = 0;
  const loader = () => {
    loads++;
    return 'v1';
  };
  assert.equal(await cache.getOrLoad(key, loader, { ttlMs: 30_000 }), 'v1');
  assert.equal(await cache.getOrLoad(key, loader), 'v1');
  assert.equal(loads, 1);
  assert.equal(await redis.get(key), 'v1');
  const pttl = await redis.pttl(key);
  assert.ok(pttl > 0 && pttl <= 30_000, `value TTL ${pttl}`);
  assert.equal(await redis.exists(layout.leaseKey(key)), 0, 'the lease is released by the fill');
  const s = cache.stats();
  assert.deepEqual([s.hits, s.misses, s.fills], [1, 1, 1]);
});

test('json and buffer codecs round-trip through Redis', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const product = { id: 1, name: 'chair', price: 12.5, tags: ['a'] };
  const json = codecs.json<typeof product>();
  assert.deepEqual(await cache.getOrLoad(app('j'), () => product, { codec: json }), product);
  assert.deepEqual(await cache.getOrLoad(app('j'), () => assert.fail('must hit'), { codec: json }), product);
  const bytes = Buffer.from([0, 1, 254, 255]);
  await cache.getOrLoad(app('b'), () => bytes, { codec: codecs.buffer });
  assert.deepEqual(await cache.getOrLoad(app('b'), () => assert.fail('must hit'), { codec: codecs.buffer }), bytes);
});

test('stampede: 200 concurrent misses on one key run the loader once', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout, { stampede: { waitMs: 30_000 } });
  const key = app('hot');
  let loads = 0;
  const loader = async () => {
    loads++;
    // Hold the lease until every other caller is waiting on it, so the test sees real waiting.
    await waitFor(() => cache.stats().stampedeWaits === 199, { timeoutMs: 30_000, what: '199 callers waiting' });
    return 'hot-value';
  };
  const values = await Promise.all(Array.from({ length: 200 }, () => cache.getOrLoad(key, loader)));
  console.log(`stampede: 200 concurrent misses ran the loader ${loads} time(s)`);
  assert.equal(loads, 1);
  assert.ok(values.every((v) => v === 'hot-value'));
  const s = cache.stats();
  assert.deepEqual([s.misses, s.hits, s.fills, s.stampedeWaits, s.stampedeTimeouts], [1, 199, 1, 199, 0]);
});

test('a waiter that outlives the wait bound loads itself without filling', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout, { stampede: { waitMs: 20, pollMinMs: 1, pollMaxMs: 5 } });
  const key = app('slow');
  let releaseHolder!: () => void;
  const holderMayFinish = new Promise<void>((resolve) => (releaseHolder = resolve));
  const holder = cache.getOrLoad(key, async () => {
    await holderMayFinish;
    return 'from-holder';
  });
  await waitFor(async () => (await redis.exists(layout.leaseKey(key))) === 1, { timeoutMs: 10_000, what: 'lease taken' });
  assert.equal(await cache.getOrLoad(key, () => 'from-waiter'), 'from-waiter');
  assert.equal(await redis.get(key), null, 'the waiter did not fill');
  releaseHolder();
  assert.equal(await holder, 'from-holder');
  assert.equal(await redis.get(key), 'from-holder');
  const s = cache.stats();
  assert.deepEqual([s.stampedeWaits, s.stampedeTimeouts, s.misses, s.fills], [1, 1, 2, 1]);
});

test('a failing loader releases its lease, so the next caller loads at once', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const key = app('boom');
  await assert.rejects(cache.getOrLoad(key, () => Promise.reject(new Error('db down'))), /db down/);
  assert.equal(await redis.exists(layout.leaseKey(key)), 0);
  assert.equal(await cache.getOrLoad(key, () => 'ok'), 'ok');
  assert.equal(cache.stats().stampedeWaits, 0);
});

test('lease lost between lease and fill (namespace wiped as by a Redis restart): fill refused, value still returned', async () => {
  const { prefix, layout, app } = namespace();
  const cache = cacheFor(layout);
  const key = app('restart');
  const value = await cache.getOrLoad(key, async () => {
    assert.equal(await redis.exists(layout.leaseKey(key)), 1);
    await flushPrefix(prefix);
    return 'loaded-before-restart';
  });
  assert.equal(value, 'loaded-before-restart');
  assert.equal(await redis.exists(key), 0);
  assert.equal(cache.stats().fillRejected['lease-lost'], 1);
});

test('lease taken over by another caller after expiry: the first fill is refused', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const key = app('takeover');
  await cache.getOrLoad(key, async () => {
    await redis.set(layout.leaseKey(key), `1:someone-else`, 'PX', 10_000);
    return 'v';
  });
  assert.equal(await redis.exists(key), 0);
  assert.equal(await redis.get(layout.leaseKey(key)), '1:someone-else', 'a lease that is not ours is left alone');
  assert.equal(cache.stats().fillRejected['lease-lost'], 1);
});

test('a load older than the marker TTL is refused even if its lease is still held', async () => {
  const { layout, app } = namespace({ markerTtlMs: 300, leaseTtlMs: 200 });
  const cache = cacheFor(layout);
  const key = app('old');
  const serverMicros = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1e6 + Number(us);
  };
  await cache.getOrLoad(key, async () => {
    const lease = await redis.get(layout.leaseKey(key));
    assert.ok(lease);
    const start = Number(lease.slice(0, lease.indexOf(':')));
    await redis.pexpire(layout.leaseKey(key), 60_000); // a lease kept alive far beyond its TTL
    await waitFor(async () => (await serverMicros()) - start > 300_000, { timeoutMs: 10_000, what: 'marker TTL passed' });
    return 'v';
  });
  assert.equal(await redis.exists(key), 0);
  assert.equal(cache.stats().fillRejected['too-old'], 1);
});

test('key invalidated during the load: marker refuses the fill; a load after it fills', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const key = app('k');
  const r = await cache.getOrLoad(key, async () => {
    await invalidateKeysAndTags(redis, { keys: [key], tags: [] }, layout);
    return 'old';
  });
  assert.equal(r, 'old');
  assert.equal(await redis.exists(key), 0);
  assert.equal(cache.stats().fillRejected.invalidated, 1);
  const marker = Number(await redis.get(layout.keyMarkerKey(key)));
  const pttl = await redis.pttl(layout.keyMarkerKey(key));
  assert.ok(marker > 1.6e15, `marker holds Redis server microseconds: ${marker}`);
  assert.ok(pttl > 0 && pttl <= layout.markerTtlMs, `marker TTL ${pttl}`);

  assert.equal(await cache.getOrLoad(key, () => 'new'), 'new');
  assert.equal(await redis.get(key), 'new', 'a lease that began after the marker may fill');
});

test('explicit invalidate gives read-your-writes', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const key = app('ryw');
  let row = 'v1';
  assert.equal(await cache.getOrLoad(key, () => row), 'v1');
  row = 'v2';
  const result = await cache.invalidate({ keys: [key] });
  assert.deepEqual(result, { keys: 1, tags: 0, tagMembers: 0, roundTrips: 1 });
  assert.equal(await cache.getOrLoad(key, () => row), 'v2');
});

test('tags: fill adds the key to each tag set; invalidating a tag deletes its members and marks it', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const [a, b] = [app('a'), app('b')];
  await cache.getOrLoad(a, () => 'A', { tags: ['cat:1', 'cat:2'], ttlMs: 20_000 });
  await cache.getOrLoad(b, () => 'B', { tags: ['cat:2'], ttlMs: 40_000 });
  assert.deepEqual((await redis.smembers(layout.tagSetKey('cat:2'))).sort(), [a, b].sort());
  const setTtl = await redis.pttl(layout.tagSetKey('cat:2'));
  assert.ok(setTtl > 20_000 && setTtl <= 40_000, `tag set lives as long as its newest member: ${setTtl}`);

  const result = await invalidateKeysAndTags(redis, { keys: [], tags: ['cat:1'] }, layout);
  assert.deepEqual(result, { keys: 0, tags: 1, tagMembers: 1, roundTrips: 1 });
  assert.equal(await redis.exists(a), 0);
  assert.equal(await redis.get(b), 'B', 'other tags are untouched');
  assert.equal(await redis.exists(layout.tagSetKey('cat:1')), 0);
  assert.equal(await redis.exists(layout.tagMarkerKey('cat:1')), 1);
});

test('tag invalidated during the load: marker refuses the fill and the key joins no tag set', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  const key = app('tagged');
  await cache.getOrLoad(
    key,
    async () => {
      await invalidateKeysAndTags(redis, { keys: [], tags: ['cat:9'] }, layout);
      return 'old';
    },
    { tags: ['cat:8', 'cat:9'] },
  );
  assert.equal(await redis.exists(key), 0);
  assert.equal(await redis.exists(layout.tagSetKey('cat:8')), 0);
  assert.equal(cache.stats().fillRejected.invalidated, 1);
  assert.equal(await cache.getOrLoad(key, () => 'new', { tags: ['cat:9'] }), 'new');
  assert.deepEqual(await redis.smembers(layout.tagSetKey('cat:9')), [key]);
});

test('large invalidation: thousands of keys and tags in few round trips, big tag sets included; idempotent', async () => {
  const { layout, app } = namespace();
  const keys = Array.from({ length: 3000 }, (_, i) => app(`k${i}`));
  const tags = Array.from({ length: 1200 }, (_, i) => `t${i}`);
  const bigTagMembers = Array.from({ length: 20_000 }, (_, i) => app(`big${i}`));
  const fill = redis.pipeline();
  for (const k of keys) fill.set(k, 'x');
  tags.forEach((t, i) => {
    fill.set(app(`m${i}`), 'x');
    fill.sadd(layout.tagSetKey(t), app(`m${i}`));
  });
  for (const k of bigTagMembers) fill.set(k, 'x');
  fill.sadd(layout.tagSetKey('big'), ...bigTagMembers);
  await fill.exec();

  const result = await invalidateKeysAndTags(redis, { keys, tags: [...tags, 'big'] }, layout);
  assert.deepEqual(result, { keys: 3000, tags: 1201, tagMembers: 1200 + 20_000, roundTrips: 1 });
  const sample = [keys[0]!, keys[2999]!, app('m0'), app('m1199'), bigTagMembers[0]!, bigTagMembers[19_999]!];
  assert.equal(await redis.exists(...sample), 0);
  assert.equal(await redis.exists(layout.keyMarkerKey(keys[2999]!), layout.tagMarkerKey('t1199'), layout.tagMarkerKey('big')), 3);

  const again = await invalidateKeysAndTags(redis, { keys, tags }, layout);
  assert.deepEqual(again, { keys: 3000, tags: 1200, tagMembers: 0, roundTrips: 1 });
});

test('a Redis error rejects the whole invalidation', async () => {
  const { layout, app } = namespace();
  const key = app('wrongtype');
  await redis.set(layout.tagSetKey('t'), 'not a set');
  await assert.rejects(invalidateKeysAndTags(redis, { keys: [key], tags: ['t'] }, layout), /WRONGTYPE/);
});

test('scripts survive a lost script cache (as after a Redis restart)', async () => {
  const { layout, app } = namespace();
  const cache = cacheFor(layout);
  await cache.getOrLoad(app('s1'), () => 'a', { tags: ['x'] });
  await redis.script('FLUSH');
  await cache.invalidate({ tags: ['x'] });
  assert.equal(await redis.exists(app('s1')), 0);
  await redis.script('FLUSH');
  assert.equal(await cache.getOrLoad(app('s1'), () => 'b', { tags: ['x'] }), 'b');
  assert.equal(await redis.get(app('s1')), 'b');
});

test('bad options and arguments fail with the setting named', async () => {
  assert.throws(() => createCache({ redis, registry: noRules, defaultTtlMs: 0 }), /defaultTtlMs must be a positive integer/);
  assert.throws(() => createCache({ redis, registry: noRules, stampede: { pollMinMs: 100, pollMaxMs: 10 } }), /stampede\.pollMinMs/);
  const cache = createCache({ redis, registry: noRules, layout: namespace().layout });
  await assert.rejects(cache.getOrLoad('', () => 'x'), /key must be a non-empty string/);
  await assert.rejects(cache.getOrLoad('k', () => 'x', { ttlMs: 1.5 }), /ttlMs must be a positive integer/);
  await assert.rejects(cache.getOrLoad('k', () => 'x', { tags: [''] }), /tags must be an array of non-empty strings/);
  assert.equal(cache.stats().misses, 0);
});
