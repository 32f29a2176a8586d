// The L1 tier on the stack's Redis: two app processes drop an invalidated key within
// milliseconds, no L1 entry differs from Redis after GETs raced invalidations, FLUSHALL-style
// null invalidations flush L1. Redis kill/restart and the breaker: cache-l1-restart.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { createKeyRegistry, createRedisLayout } from '@evictd/schemas';
import { createCache, invalidateKeysAndTags, type Cache, type CacheEvent } from '@evictd/cache';
import { startL1Instance, type L1Instance } from '@evictd/bench';
import { REPO_ROOT } from '../support/process.js';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';

const ns = uniqueName('l1');
const layout = createRedisLayout({ keyPrefix: `${ns}:` });
let redis: Redis;
const children: ChildProcess[] = [];
const caches: Cache[] = [];

before(() => {
  redis = new Redis(stackEnv().REDIS_URL);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(caches.map((c) => c.close()));
  await redis.quit();
});

const now = () => performance.timeOrigin + performance.now();

function startInstance(): L1Instance {
  const instance = startL1Instance(stackEnv().REDIS_URL, layout.keyPrefix, REPO_ROOT);
  children.push(instance.child);
  return instance;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

test('two app processes: an invalidation (key or tag) drops the key from both L1s within milliseconds', async () => {
  const instances = [startInstance(), startInstance()];
  await Promise.all(instances.map((i) => i.ready));
  const rounds = 8;
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const key = `${ns}:product:${r}`;
    const tag = `${ns}:category:${r}`;
    for (const i of instances) i.send(`prime ${key} ${tag}`);
    await Promise.all(instances.map((i) => i.next((l) => l === `primed ${key}`, `primed ${key}`)));
    // Even rounds delete the key itself, odd ones reach it as a member of its tag.
    const input = r % 2 === 0 ? { keys: [key], tags: [] } : { keys: [], tags: [tag] };
    const t0 = now();
    await invalidateKeysAndTags(redis, input, layout);
    const drops = await Promise.all(instances.map((i) => i.next((l) => l.startsWith(`drop ${key} `), `drop ${key}`)));
    const dt = drops.map((l) => Number(l.split(' ')[2]) - t0);
    times.push(Math.max(...dt));
    console.log(`round ${r} (${r % 2 === 0 ? 'key' : 'tag'}): L1 drop after ${dt.map((d) => d.toFixed(2)).join(' / ')} ms`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`L1 drop in the last of 2 processes, ${rounds} rounds: p50 ${percentile(sorted, 50).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`);
  assert.equal(times.length, rounds);
});

/**
 * Waits until every invalidation Redis sent before now reached this cache's L1: Redis delivers
 * them in order on the one subscriber connection, so once a sentinel key read into L1 and then
 * changed is dropped, every earlier message has been applied.
 */
async function drainInvalidations(cache: Cache, events: CacheEvent[], sentinel: string): Promise<void> {
  await redis.set(sentinel, 'x', 'PX', 60_000);
  await waitFor(async () => {
    await cache.getOrLoad(sentinel, () => 'x');
    return cache.l1!.entries().some(([k]) => k === sentinel);
  }, { timeoutMs: 30_000, what: 'the sentinel in L1' });
  const seen = events.length;
  await redis.del(sentinel);
  await waitFor(() => events.slice(seen).some((e) => e.type === 'l1-drop' && e.key === sentinel), { timeoutMs: 30_000, what: 'the sentinel dropped' });
}

test('GETs in flight while invalidations land: afterwards no L1 entry differs from Redis', async () => {
  const events: CacheEvent[] = [];
  const cache = createCache({ redis, layout, registry: createKeyRegistry({}), l1: { maxEntries: 1_000, ttlMs: 60_000 }, onEvent: (e) => events.push(e) });
  caches.push(cache);
  await cache.l1!.whenTracking(30_000);
  const KEYS = 16;
  const READERS = 48;
  const WRITES = 300;
  const version = new Array<number>(KEYS).fill(0);
  const keyOf = (k: number) => `${ns}:race:${k}`;
  // Large values make each GET reply slow to arrive, so invalidations (on the other connection) overtake them.
  const pad = 'p'.repeat(64 * 1024);
  const valueOf = (k: number) => `${version[k]}|${pad}`;
  let writing = true;
  let reads = 0;

  const reader = async () => {
    while (writing) {
      const k = Math.floor(Math.random() * KEYS);
      await cache.getOrLoad(keyOf(k), () => valueOf(k));
      reads++;
      // An L1 hit resolves without I/O: yield, or the readers would starve the writer's replies.
      await new Promise((r) => setImmediate(r));
    }
  };
  const writer = async () => {
    for (let w = 0; w < WRITES; w++) {
      const k = w % KEYS;
      version[k]!++;
      // The database change, then what evictd does; also overwrite the value directly half the
      // time (a SET is a change Redis tracks as well).
      if (w % 2 === 0) await redis.set(keyOf(k), valueOf(k), 'PX', 60_000);
      await invalidateKeysAndTags(redis, { keys: [keyOf(k)], tags: [] }, layout);
      if (w % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    writing = false;
  };
  await Promise.all([writer(), ...Array.from({ length: READERS }, reader)]);
  await drainInvalidations(cache, events, `${ns}:race:sentinel`);

  const entries = cache.l1!.entries().filter(([k]) => k.startsWith(`${ns}:race:`) && !k.endsWith('sentinel'));
  let stale = 0;
  for (const [key, raw] of entries) {
    const inRedis = await redis.getBuffer(key);
    if (inRedis === null || !inRedis.equals(raw)) stale++;
  }
  // Redis itself: fenced fills leave no value older than the last write.
  let staleInRedis = 0;
  for (let k = 0; k < KEYS; k++) {
    const v = await redis.get(keyOf(k));
    if (v !== null && v !== valueOf(k)) staleInRedis++;
  }
  const s = cache.stats();
  console.log(`race: ${reads} reads, ${WRITES} invalidations; L1 hits ${s.l1Hits}, Redis hits ${s.hits}, misses ${s.misses}; ` +
    `L1 stores skipped ${JSON.stringify(s.l1!.storeSkipped)}, drops ${s.l1!.drops}; ${entries.length} L1 entries checked, ${stale} stale; ${staleInRedis} stale in Redis`);
  assert.equal(stale, 0, 'no L1 entry differs from Redis');
  assert.equal(staleInRedis, 0);
  assert.ok(s.l1!.drops > 0, 'invalidations dropped L1 entries');
  assert.deepEqual(events.filter((e) => e.type === 'l1-flush' && e.reason !== 'tracking-restored'), [], 'no flush (heartbeats answered)');
});

test('a FLUSHALL-style null invalidation flushes the whole L1', async () => {
  // FLUSHALL would wipe the other test files' keys on the shared Redis (the real FLUSHALL runs in
  // cache-l1-restart.test.ts, on its own server).
  const events: CacheEvent[] = [];
  const cache = createCache({ redis, layout, registry: createKeyRegistry({}), l1: {}, onEvent: (e) => events.push(e) });
  caches.push(cache);
  await cache.l1!.whenTracking(30_000);
  for (const k of ['a', 'b', 'c']) await redis.set(`${ns}:flush:${k}`, k, 'PX', 60_000);
  await waitFor(async () => {
    for (const k of ['a', 'b', 'c']) await cache.getOrLoad(`${ns}:flush:${k}`, () => k);
    return cache.l1!.entries().length === 3;
  }, { timeoutMs: 30_000, what: 'three keys in L1' });
  // Redis sends every tracking client a null invalidation on FLUSHDB of any database (tracking
  // is not per database): flushing an unused one triggers it without touching other keys.
  const spare = new Redis(stackEnv().REDIS_URL, { db: 15 });
  try {
    await spare.flushdb();
  } finally {
    spare.disconnect();
  }
  await waitFor(() => events.some((e) => e.type === 'l1-flush' && e.reason === 'flushall'), { timeoutMs: 30_000, what: 'the null invalidation' });
  assert.equal(cache.l1!.entries().length, 0);
});

/** ids of the connections named `name` (CLIENT LIST). */
async function clientIds(name: string): Promise<Set<string>> {
  const list = (await redis.client('LIST')) as string;
  return new Set(list.split('\n').filter((l) => l.includes(` name=${name} `)).map((l) => /^id=(\d+)/.exec(l)![1]!));
}

for (const which of ['evictd-l1-invalidations', 'evictd-l1-reader'] as const) {
  test(`${which} connection killed alone: L1 is flushed, tracking comes back (new redirect id) and invalidations reach L1 again`, async () => {
    const before = await clientIds(which);
    const events: CacheEvent[] = [];
    const cache = createCache({ redis, layout, registry: createKeyRegistry({}), l1: {}, onEvent: (e) => events.push(e) });
    caches.push(cache);
    await cache.l1!.whenTracking(30_000);
    const own = [...(await clientIds(which))].filter((id) => !before.has(id));
    assert.equal(own.length, 1, `exactly one new ${which} connection`);
    const key = `${ns}:kill:${which}`;
    await redis.set(key, 'v1', 'PX', 60_000);
    const inL1 = () => cache.l1!.entries().some(([k]) => k === key);
    await waitFor(async () => (await cache.getOrLoad(key, () => 'v1')) && inL1(), { timeoutMs: 30_000, what: `${key} in L1` });

    await redis.client('KILL', 'ID', own[0]!);
    await waitFor(() => events.some((e) => e.type === 'l1-flush' && e.reason === 'tracking-lost'), { timeoutMs: 30_000, what: 'the flush at the drop' });
    assert.equal(inL1(), false);
    await waitFor(() => events.some((e) => e.type === 'l1-flush' && e.reason === 'tracking-restored') && cache.l1!.tracking, { timeoutMs: 30_000, what: 'tracking back' });

    // Tracking points at the live subscriber: a change is seen again.
    await waitFor(async () => (await cache.getOrLoad(key, () => 'v1')) && inL1(), { timeoutMs: 30_000, what: `${key} back in L1` });
    await redis.set(key, 'v2', 'PX', 60_000);
    await waitFor(() => events.some((e) => e.type === 'l1-drop' && e.key === key), { timeoutMs: 30_000, what: `${key} dropped after the reconnect` });
    assert.equal(await cache.getOrLoad(key, () => assert.fail('in Redis')), 'v2');
  });
}

test('read-your-writes: once cache.invalidate() resolves, this instance\'s L1 no longer holds the key or the tag\'s members', async () => {
  const events: CacheEvent[] = [];
  const cache = createCache({ redis, layout, registry: createKeyRegistry({}), l1: {}, onEvent: (e) => events.push(e) });
  caches.push(cache);
  await cache.l1!.whenTracking(30_000);
  const keys = [`${ns}:ryw:1`, `${ns}:ryw:2`];
  const tag = `${ns}:ryw-tag`;
  await waitFor(async () => {
    for (const k of keys) await cache.getOrLoad(k, () => 'old', { tags: [tag] });
    return keys.every((k) => cache.l1!.entries().some(([e]) => e === k));
  }, { timeoutMs: 30_000, what: 'both keys in L1' });
  for (let round = 0; round < 20; round++) {
    const input = round % 2 === 0 ? { keys: [keys[0]!] } : { tags: [tag] };
    await cache.invalidate(input);
    const held = cache.l1!.entries().map(([k]) => k);
    if (round % 2 === 0) assert.ok(!held.includes(keys[0]!), `round ${round}: ${keys[0]} still in L1`);
    else assert.deepEqual(held.filter((k) => keys.includes(k)), [], `round ${round}: tag members still in L1`);
    await waitFor(async () => {
      for (const k of keys) await cache.getOrLoad(k, () => 'new', { tags: [tag] });
      return keys.every((k) => cache.l1!.entries().some(([e]) => e === k));
    }, { timeoutMs: 30_000, what: 'both keys back in L1' });
  }
  // The wait worked as a wait, not by flushing L1.
  assert.deepEqual(events.filter((e) => e.type === 'l1-flush' && e.reason !== 'tracking-restored'), []);
});

test('an app client made with lazyConnect still gets a tracking L1 (its duplicates connect on their own)', async () => {
  const lazy = new Redis(stackEnv().REDIS_URL, { lazyConnect: true });
  const cache = createCache({ redis: lazy, layout, registry: createKeyRegistry({}), l1: {} });
  try {
    await cache.l1!.whenTracking(30_000);
    assert.equal(cache.l1!.tracking, true);
  } finally {
    await cache.close();
    lazy.disconnect();
  }
});
