import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedisLayout } from '@evictd/schemas';
import { planInvalidation } from './invalidate.js';

const layout = createRedisLayout({ keyPrefix: 'p:' });

test('one call holds keys, their markers, tag sets and tag markers in script order', () => {
  const [call, ...rest] = planInvalidation({ keys: ['a', 'b'], tags: ['t'] }, layout);
  assert.equal(rest.length, 0);
  assert.deepEqual(call, {
    redisKeys: ['a', 'b', 'p:evictd:mk:a', 'p:evictd:mk:b', 'p:evictd:tag:t', 'p:evictd:mt:t'],
    keyCount: 2,
    tagCount: 1,
  });
});

test('duplicates are dropped and nothing to do plans no call', () => {
  assert.deepEqual(planInvalidation({ keys: [], tags: [] }, layout), []);
  const calls = planInvalidation({ keys: ['a', 'a'], tags: ['t', 't'] }, layout);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.keyCount, 1);
  assert.equal(calls[0]?.tagCount, 1);
});

test('large inputs are split into calls of bounded size, covering every key and tag once', () => {
  const keys = Array.from({ length: 2500 }, (_, i) => `k${i}`);
  const tags = Array.from({ length: 730 }, (_, i) => `t${i}`);
  const calls = planInvalidation({ keys, tags }, layout, 500);
  assert.equal(calls.length, Math.ceil((keys.length + tags.length) / 500));
  for (const c of calls) assert.ok(c.keyCount + c.tagCount <= 500);
  const seenKeys = calls.flatMap((c) => c.redisKeys.slice(0, c.keyCount));
  const seenTags = calls.flatMap((c) => c.redisKeys.slice(2 * c.keyCount, 2 * c.keyCount + c.tagCount));
  assert.deepEqual(seenKeys, keys);
  assert.deepEqual(seenTags, tags.map(layout.tagSetKey));
});

test('non-string entries are refused with the field named', () => {
  assert.throws(() => planInvalidation({ keys: ['a', 7 as unknown as string], tags: [] }, layout), /every entry of keys must be a string, got number/);
  assert.throws(() => planInvalidation({ keys: [], tags: 'x' as unknown as string[] }, layout), /tags must be an array of strings/);
});
