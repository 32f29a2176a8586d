// Early refresh (XFetch) in packages/cache against a real Redis: a hot key is reloaded before it
// expires by one caller across instances, in the background, and through the fenced fill, so a
// refresh that straddles an invalidation writes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createKeyRegistry, createRedisLayout } from '@evictd/schemas';
import { createCache, invalidateKeysAndTags, type CacheOptions } from '@evictd/cache';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';

let redis: Redis;
let other: Redis; // a second client: a second app instance

before(() => {
  redis = new Redis(stackEnv().REDIS_URL);
  other = new Redis(stackEnv().REDIS_URL);
});
after(async () => {
  await redis.quit();
  await other.quit();
});

const noRules = createKeyRegistry({});

function namespace() {
  const prefix = `${uniqueName('cache_refresh')}:`;
  return { layout: createRedisLayout({ keyPrefix: prefix }), app: (name: string) => `${prefix}app:${name}` };
}

/** A loader that blocks until released, so a test can act while a refresh is loading. */
function gate() {
  let release!: (v: string) => void;
  let fail!: (e: Error) => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const result = new Promise<string>((res, rej) => ((release = res), (fail = rej)));
  let calls = 0;
  const loader = () => {
    calls++;
    started();
    return result;
  };
  return { loader, running, release, fail, calls: () => calls };
}

/** Makes every Redis hit refresh (the XFetch gap is then always past the expiry). */
const always: CacheOptions['earlyRefresh'] = { beta: 1e12 };

const HOT_READERS = 8;
const HOT_TTL_MS = 600;
const HOT_LOAD_MS = 40;
const HOT_RUN_MS = 3_000;

/** HOT_READERS callers read one key back to back for HOT_RUN_MS; the loader takes HOT_LOAD_MS. */
async function hotKey(extra: Partial<CacheOptions>) {
  const { layout, app } = namespace();
  const cache = createCache({ redis, layout, registry: noRules, ...extra });
  if (cache.l1) await cache.l1.whenTracking(5_000);
  const key = app('hot');
  let loads = 0;
  const loader = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, HOT_LOAD_MS));
    return `v${loads}`;
  };
  const latencies: number[] = [];
  const end = Date.now() + HOT_RUN_MS;
  await Promise.all(Array.from({ length: HOT_READERS }, async () => {
    while (Date.now() < end) {
      const t = performance.now();
      await cache.getOrLoad(key, loader, { ttlMs: HOT_TTL_MS });
      latencies.push(performance.now() - t);
      // Yield to timers between reads (an L1 hit resolves without I/O).
      await new Promise((r) => setImmediate(r));
    }
  }));
  await cache.close();
  latencies.sort((a, b) => a - b);
  const slow = latencies.filter((ms) => ms >= HOT_LOAD_MS / 2).length;
  return { loads, stats: cache.stats(), calls: latencies.length, slow, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

test('a hot key: with early refresh callers miss once and never wait for a load again; without, every expiry is a miss', async () => {
  const without = await hotKey({});
  const withEarly = await hotKey({ earlyRefresh: {} });
  const withL1 = await hotKey({ earlyRefresh: {}, l1: {} });
  const row = (name: string, r: typeof without) =>
    `${name}: loads ${r.loads} (misses ${r.stats.misses}, refreshes ${r.stats.refreshes}, skipped ${r.stats.refreshSkipped}), ` +
    `calls ${r.calls}, calls that waited >= ${HOT_LOAD_MS / 2} ms: ${r.slow}, stampede waits ${r.stats.stampedeWaits}, p99 ${r.p99.toFixed(2)} ms`;
  console.log(`hot key, ${HOT_READERS} readers, ttl ${HOT_TTL_MS} ms, load ${HOT_LOAD_MS} ms, ${HOT_RUN_MS} ms:\n  ${row('off', without)}\n  ${row('earlyRefresh', withEarly)}\n  ${row('earlyRefresh + l1', withL1)}`);

  // Without: the key expires every HOT_TTL_MS and each expiry makes callers wait for a load.
  assert.ok(without.stats.misses >= 3, `misses without early refresh: ${without.stats.misses}`);
  assert.equal(without.stats.refreshes, 0);
  assert.ok(without.stats.stampedeWaits > HOT_READERS * 2, `callers that waited for a load without early refresh: ${without.stats.stampedeWaits}`);
  for (const [name, r] of [['earlyRefresh', withEarly], ['earlyRefresh + l1', withL1]] as const) {
    assert.equal(r.stats.misses, 1, `${name}: only the first call misses`);
    assert.ok(r.stats.refreshes >= 3, `${name}: refreshes ${r.stats.refreshes}`);
    assert.equal(r.stats.refreshFailures, 0, name);
    // Only the first round of callers waits for a load (the first miss's stampede waiters).
    assert.ok(r.stats.stampedeWaits <= HOT_READERS - 1, `${name}: callers that waited for a load: ${r.stats.stampedeWaits}`);
    assert.equal(r.loads, r.stats.misses + r.stats.refreshes, `${name}: every load is the miss or a refresh`);
  }
});

test('a refresh serves the caller at once, runs in the background, and only the lease holder refreshes, across instances', async () => {
  const { layout, app } = namespace();
  const a = createCache({ redis, layout, registry: noRules, earlyRefresh: always });
  const b = createCache({ redis: other, layout, registry: noRules, earlyRefresh: always });
  const key = app('k');
  assert.equal(await a.getOrLoad(key, () => 'v1', { ttlMs: 60_000 }), 'v1');
  const lt = Number(await redis.get(layout.loadTimeKey(key)));
  assert.ok(lt > 0 && lt < 1_000, `load time recorded by the fill: ${lt}`);
  const [pttl, ltPttl] = [await redis.pttl(key), await redis.pttl(layout.loadTimeKey(key))];
  assert.ok(Math.abs(pttl - ltPttl) < 1_000, `the load time lives as long as the value: ${pttl} vs ${ltPttl}`);

  const g = gate();
  // The caller gets the cached value while its refresh is still loading.
  assert.equal(await a.getOrLoad(key, g.loader, { ttlMs: 60_000 }), 'v1');
  await g.running;
  assert.ok(await redis.exists(layout.leaseKey(key)), 'the refresh holds the lease');
  // Another instance decides to refresh too: the lease is taken, so it skips.
  assert.equal(await b.getOrLoad(key, g.loader, { ttlMs: 60_000 }), 'v1');
  await waitFor(() => b.stats().refreshSkipped === 1, { timeoutMs: 5_000, what: 'b skips its refresh' });
  // The same instance again: one refresh per key at a time.
  assert.equal(await a.getOrLoad(key, g.loader, { ttlMs: 60_000 }), 'v1');
  g.release('v2');
  await waitFor(async () => (await redis.get(key)) === 'v2', { timeoutMs: 5_000, what: 'the refresh fills v2' });
  assert.equal(g.calls(), 1, 'one load for the key across both instances');
  assert.deepEqual([a.stats().refreshes, a.stats().fills, a.stats().misses, b.stats().refreshes], [1, 2, 1, 0]);
  await Promise.all([a.close(), b.close()]);
});

test('a refresh whose load straddles an invalidation writes nothing (the fence refuses it)', async () => {
  const { layout, app } = namespace();
  const cache = createCache({ redis, layout, registry: noRules, earlyRefresh: always });
  const key = app('k');
  let row = 'v1';
  await cache.getOrLoad(key, () => row, { ttlMs: 60_000, tags: ['t'] });
  const g = gate();
  assert.equal(await cache.getOrLoad(key, g.loader, { ttlMs: 60_000, tags: ['t'] }), 'v1');
  await g.running; // the refresh read the old row ...
  row = 'v2'; // ... then a commit changed it and the invalidator ran, by tag
  await invalidateKeysAndTags(redis, { keys: [], tags: ['t'] }, layout);
  g.release('v1');
  await waitFor(() => cache.stats().fillRejected.invalidated === 1, { timeoutMs: 5_000, what: 'the refresh fill is refused' });
  assert.equal(await redis.get(key), null, 'no stale value written by the refresh');
  assert.equal(await cache.getOrLoad(key, () => row, { ttlMs: 60_000, tags: ['t'] }), 'v2');
  await cache.close();
});

test('a refresh whose loader throws is counted, never thrown, and gives the lease back', async () => {
  const { layout, app } = namespace();
  const cache = createCache({ redis, layout, registry: noRules, earlyRefresh: always });
  const key = app('k');
  await cache.getOrLoad(key, () => 'v1');
  assert.equal(await cache.getOrLoad(key, () => Promise.reject(new Error('db down'))), 'v1');
  await waitFor(() => cache.stats().refreshFailures === 1, { timeoutMs: 5_000, what: 'the failure is counted' });
  assert.equal(await redis.exists(layout.leaseKey(key)), 0, 'lease released');
  assert.equal(await redis.get(key), 'v1', 'the cached value stays');
  assert.equal(cache.stats().refreshes, 1);
  await cache.close();
});

test('without earlyRefresh a hit never refreshes, and a refresh of a key that went meanwhile is left to the next miss', async () => {
  const { layout, app } = namespace();
  const off = createCache({ redis, layout, registry: noRules });
  const key = app('k');
  await off.getOrLoad(key, () => 'v1');
  assert.equal(await redis.exists(layout.loadTimeKey(key)), 0, 'no load time without earlyRefresh');
  let loads = 0;
  for (let i = 0; i < 20; i++) await off.getOrLoad(key, () => String(++loads));
  assert.equal(loads, 0);
  assert.equal(off.stats().refreshes, 0);
  // refresh.lua answers 'gone' for a missing key and takes no lease.
  const reply = (await (redis as unknown as Record<string, (...a: unknown[]) => Promise<Buffer[]>>).evictdRefreshBuffer!(2, app('missing'), layout.leaseKey(app('missing')), 'tok', 5_000)).map(String);
  assert.deepEqual(reply, ['gone']);
  assert.equal(await redis.exists(layout.leaseKey(app('missing'))), 0);
  await off.close();
});
