import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedisLayout, DEFAULT_LEASE_TTL_MS, DEFAULT_MARKER_TTL_MS, redisScriptSource } from './redis-layout.js';

test('defaults: empty prefix, evictd namespace, lease shorter than marker', () => {
  const layout = createRedisLayout();
  assert.equal(layout.keyPrefix, '');
  assert.equal(layout.markerTtlMs, DEFAULT_MARKER_TTL_MS);
  assert.equal(layout.leaseTtlMs, DEFAULT_LEASE_TTL_MS);
  assert.ok(layout.leaseTtlMs < layout.markerTtlMs);
  assert.equal(layout.leaseKey('product:1'), 'evictd:lease:product:1');
  assert.equal(layout.keyMarkerKey('product:1'), 'evictd:mk:product:1');
  assert.equal(layout.tagMarkerKey('category:1'), 'evictd:mt:category:1');
  assert.equal(layout.loadTimeKey('product:1'), 'evictd:lt:product:1');
  assert.equal(layout.tagSetKey('category:1'), 'evictd:tag:category:1');
  assert.equal(layout.shapeMarkerKey('key', 'product:*'), 'evictd:ms:k:product:*');
  assert.equal(layout.shapeSetKey('tag', 'category:*'), 'evictd:shape:t:category:*');
  assert.equal(layout.cleanupIndexKey, 'evictd:cleanup');
  assert.equal(layout.cleanupSetKey('42'), 'evictd:cleanup:42');
});

test('the prefix goes in front of every evictd key, and key and tag names never collide', () => {
  const layout = createRedisLayout({ keyPrefix: 'shop:' });
  const names = [
    layout.leaseKey('x'), layout.keyMarkerKey('x'), layout.tagMarkerKey('x'), layout.tagSetKey('x'), layout.loadTimeKey('x'),
    layout.shapeMarkerKey('key', 'x'), layout.shapeMarkerKey('tag', 'x'), layout.shapeSetKey('key', 'x'), layout.shapeSetKey('tag', 'x'),
    layout.cleanupIndexKey, layout.cleanupSetKey('x'),
  ];
  for (const name of names) assert.ok(name.startsWith('shop:evictd:'), name);
  assert.equal(new Set(names).size, names.length);
});

test('the layout is frozen', () => {
  const layout = createRedisLayout();
  assert.throws(() => {
    (layout as { markerTtlMs: number }).markerTtlMs = 1;
  }, TypeError);
});

test('a lease TTL that is not below the marker TTL is refused, naming both settings', () => {
  assert.throws(() => createRedisLayout({ markerTtlMs: 5000, leaseTtlMs: 5000 }), /leaseTtlMs \(5000\) must be smaller than markerTtlMs \(5000\)/);
  assert.throws(() => createRedisLayout({ markerTtlMs: 1000 }), /leaseTtlMs \(5000\) must be smaller than markerTtlMs \(1000\)/);
});

test('bad TTLs and prefixes are all reported at once', () => {
  assert.throws(
    () => createRedisLayout({ keyPrefix: 3 as unknown as string, markerTtlMs: -1, leaseTtlMs: 1.5 }),
    (err: Error) =>
      err instanceof RangeError &&
      /keyPrefix must be a string, got 3/.test(err.message) &&
      /markerTtlMs must be a positive integer number of milliseconds, got -1/.test(err.message) &&
      /leaseTtlMs must be a positive integer number of milliseconds, got 1.5/.test(err.message),
  );
});

test('every protocol script is readable from the package', () => {
  for (const name of ['lease', 'read', 'refresh', 'fill', 'release', 'invalidate', 'flush', 'drain'] as const) {
    assert.match(redisScriptSource(name), /redis\.call/);
  }
});
