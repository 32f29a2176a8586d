// A Redis restart between lease and fill loses the lease (and every marker): the fill must be
// refused, and the scripts must work again although the restart emptied the script cache.
// Uses its own Redis server, since restarting the shared one would disturb other test files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startStack, type Stack } from '@evictd/infra';
import { createKeyRegistry, createRedisLayout } from '@evictd/schemas';
import { createCache } from '@evictd/cache';

let stack: Stack<'redis'>;
let redis: Redis;

before(async () => {
  stack = await startStack({ services: ['redis'] });
  redis = new Redis(stack.env.REDIS_URL);
});

after(async () => {
  redis.disconnect();
  await stack.stop();
});

test('Redis restarted while the loader runs: fill refused as lease-lost, later fills and invalidations work', async () => {
  const cache = createCache({ redis, layout: createRedisLayout({ keyPrefix: 'restart:' }), registry: createKeyRegistry({}), defaultTtlMs: 60_000 });
  const value = await cache.getOrLoad('product:1', async () => {
    assert.equal(await redis.exists(cache.layout.leaseKey('product:1')), 1);
    await stack.redis.stop();
    await stack.redis.start();
    return 'loaded-before-restart';
  }, { tags: ['category:1'] });

  assert.equal(value, 'loaded-before-restart', 'the loaded value is still returned');
  assert.equal(await redis.exists('product:1'), 0);
  assert.equal(cache.stats().fillRejected['lease-lost'], 1);

  assert.equal(await cache.getOrLoad('product:1', () => 'after-restart', { tags: ['category:1'] }), 'after-restart');
  assert.equal(await redis.get('product:1'), 'after-restart');
  const result = await cache.invalidate({ tags: ['category:1'] });
  assert.equal(result.tagMembers, 1);
  assert.equal(await redis.exists('product:1'), 0);
});
