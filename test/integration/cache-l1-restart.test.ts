// L1 and the breaker across Redis failures, on a Redis server of its own (killing the shared one
// would disturb other test files): kill -9 and restart leave no L1 entry from before, a real
// FLUSHALL flushes L1, and the breaker opens with Redis down (calls answered by the loader,
// nothing filled) and closes once Redis is back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startStack, type Stack } from '@evictd/infra';
import { createKeyRegistry, createRedisLayout } from '@evictd/schemas';
import { createCache, type Cache, type CacheEvent } from '@evictd/cache';
import { waitFor } from '../support/index.js';

let stack: Stack<'redis'>;
let redis: Redis;
const caches: Cache[] = [];

before(async () => {
  stack = await startStack({ services: ['redis'] });
  redis = new Redis(stack.env.REDIS_URL);
  redis.on('error', () => undefined); // reconnects while the server is down
});

after(async () => {
  await Promise.all(caches.map((c) => c.close()));
  redis.disconnect();
  await stack.stop();
});

function cacheWithL1(events: CacheEvent[], breaker?: Parameters<typeof createCache>[0]['breaker']): Cache {
  const cache = createCache({
    redis,
    layout: createRedisLayout({ keyPrefix: 'l1restart:' }),
    registry: createKeyRegistry({}),
    defaultTtlMs: 60_000,
    l1: { ttlMs: 60_000 },
    ...(breaker === undefined ? {} : { breaker }),
    onEvent: (e) => events.push(e),
  });
  caches.push(cache);
  return cache;
}

const KEYS = ['product:1', 'product:2', 'product:3'];

async function fillL1(cache: Cache, value: (key: string) => string): Promise<void> {
  await waitFor(async () => {
    for (const k of KEYS) await cache.getOrLoad(k, () => value(k));
    return KEYS.every((k) => cache.l1!.entries().some(([e]) => e === k));
  }, { timeoutMs: 30_000, what: 'every key in L1' });
}

test('Redis kill -9 and restart: L1 is flushed at the drop and holds nothing from before afterwards', async () => {
  const events: CacheEvent[] = [];
  const cache = cacheWithL1(events);
  await cache.l1!.whenTracking(30_000);
  await fillL1(cache, (k) => `old ${k}`);

  await stack.redis.kill();
  await waitFor(() => !cache.l1!.tracking && cache.l1!.entries().length === 0, { timeoutMs: 30_000, what: 'L1 flushed after the kill' });
  assert.ok(events.some((e) => e.type === 'l1-flush' && e.reason === 'tracking-lost' && e.entries === KEYS.length));

  await stack.redis.start();
  await cache.l1!.whenTracking(30_000);
  // The restarted server is empty: the next reads load and fill new values.
  await fillL1(cache, (k) => `new ${k}`);
  for (const [key, raw] of cache.l1!.entries()) {
    assert.equal(raw.toString(), `new ${key}`, `${key} in L1`);
    assert.equal(await redis.get(key), `new ${key}`);
  }
  for (const k of KEYS) assert.equal(await cache.getOrLoad(k, () => assert.fail('must hit')), `new ${k}`);
});

test('a Redis that stops answering without closing the connections (CLIENT PAUSE): the heartbeat flushes L1, tracking comes back after', async () => {
  const events: CacheEvent[] = [];
  const cache = createCache({
    redis,
    layout: createRedisLayout({ keyPrefix: 'l1restart:' }),
    registry: createKeyRegistry({}),
    l1: { heartbeatMs: 100 },
    onEvent: (e) => events.push(e),
  });
  caches.push(cache);
  await cache.l1!.whenTracking(30_000);
  await fillL1(cache, (k) => `paused ${k}`);
  await redis.client('PAUSE', '1500', 'ALL');
  await waitFor(() => events.some((e) => e.type === 'l1-flush' && e.reason === 'heartbeat-failed'), { timeoutMs: 30_000, what: 'the heartbeat flush' });
  assert.equal(cache.l1!.entries().length, 0);
  await waitFor(() => events.some((e) => e.type === 'l1-flush' && e.reason === 'tracking-restored' && events.indexOf(e) > events.findIndex((x) => x.type === 'l1-flush' && x.reason === 'heartbeat-failed')), { timeoutMs: 30_000, what: 'tracking back after the pause' });
  await fillL1(cache, (k) => `paused ${k}`);
});

test('FLUSHALL: Redis sends a null invalidation and L1 is flushed', async () => {
  const events: CacheEvent[] = [];
  const cache = cacheWithL1(events);
  await cache.l1!.whenTracking(30_000);
  await fillL1(cache, (k) => `v ${k}`);
  await redis.flushall();
  await waitFor(() => events.some((e) => e.type === 'l1-flush' && e.reason === 'flushall'), { timeoutMs: 30_000, what: 'the flushall flush' });
  assert.equal(cache.l1!.entries().length, 0);
  assert.equal(await cache.getOrLoad('product:1', () => 'reloaded'), 'reloaded');
});

test('breaker: opens with Redis down, calls are answered by the loader without fills, closes once Redis is back', async () => {
  const events: CacheEvent[] = [];
  const cache = cacheWithL1(events, { failureThreshold: 3, timeoutMs: 300, latencyBudgetMs: 200, coolDownMs: 500 });
  await cache.l1!.whenTracking(30_000);
  await stack.redis.stop();

  let loads = 0;
  const loader = () => `from the database ${++loads}`;
  await waitFor(async () => {
    assert.match(await cache.getOrLoad('product:9', loader), /^from the database/);
    return cache.stats().breaker.state === 'open';
  }, { timeoutMs: 30_000, what: 'the breaker open', stopOnError: true });
  const open = cache.stats();
  assert.equal(open.fills, 0);
  assert.ok(open.degraded['redis-timeout'] + open.degraded['redis-error'] >= 3, JSON.stringify(open.degraded));
  assert.ok(events.some((e) => e.type === 'breaker' && e.to === 'open'));

  // While open: answered by the loader at once, no Redis call made.
  const started = performance.now();
  assert.match(await cache.getOrLoad('product:9', loader), /^from the database/);
  if (cache.stats().breaker.state === 'open') assert.ok(performance.now() - started < 100, 'an open breaker answers without waiting for Redis');

  await stack.redis.start();
  await waitFor(async () => {
    await cache.getOrLoad('product:9', () => 'after recovery');
    return cache.stats().breaker.state === 'closed';
  }, { timeoutMs: 30_000, what: 'the breaker closed again' });
  const transitions = events.filter((e) => e.type === 'breaker').map((e) => (e.type === 'breaker' ? e.to : ''));
  assert.deepEqual(transitions.slice(0, 2), ['open', 'half-open']);
  assert.equal(transitions.at(-1), 'closed');
  // Filled again once closed.
  await waitFor(async () => (await cache.getOrLoad('product:9', () => 'after recovery')) === 'after recovery' && (await redis.get('product:9')) === 'after recovery', {
    timeoutMs: 30_000,
    what: 'a fill after recovery',
  });
  console.log(`breaker: ${JSON.stringify(cache.stats().breaker)}, degraded ${JSON.stringify(cache.stats().degraded)}, fill-rejected ${JSON.stringify(cache.stats().fillRejected)}`);
});
