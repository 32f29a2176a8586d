import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChangeEvent } from '@evictd/schemas';
import { Timeline, keysOf, summarize, type TimelineEntry } from './timeline.js';

const COMMIT = 1_000_000;

function priceChange(id = 3, from = '14.50', to = '15.70', categoryFrom = 1, categoryTo = categoryFrom): ChangeEvent {
  const row = (price: string, category_id: number) => ({ id, name: 'Mug', description: '', price, category_id });
  return {
    before: row(from, categoryFrom),
    after: row(to, categoryTo),
    op: 'u',
    source: { connector: 'evictd', name: 'demo', db: 'app', schema: 'public', table: 'products', txId: 7, lsn: 100, ts_ms: COMMIT, snapshot: 'false' },
    ts_ms: COMMIT + 1,
  };
}

function recorder() {
  const updates: TimelineEntry[] = [];
  return { updates, timeline: new Timeline({ onUpdate: (e) => updates.push(e) }) };
}

test('the steps of one change are timed from the commit, in the order they happen', () => {
  const { timeline, updates } = recorder();
  timeline.changeSeen(priceChange(), COMMIT + 4);
  timeline.redisObserved({ key: 'product:3', at: COMMIT + 6, kind: 'deleted' });
  timeline.redisObserved({ key: 'product:3', at: COMMIT + 6, kind: 'marker' });
  timeline.redisObserved({ key: 'category:1:products', at: COMMIT + 6, kind: 'deleted' });
  timeline.readServed('product:3', 'HIT', COMMIT + 30);
  timeline.readServed('product:3', 'MISS', COMMIT + 40);
  timeline.redisObserved({ key: 'product:3', at: COMMIT + 43, kind: 'written' });

  const [entry] = timeline.snapshot();
  assert.deepEqual(entry?.steps, {
    seen: { ms: 4 },
    invalidated: { ms: 6, detail: 'deleted product:3' },
    miss: { ms: 40 },
    refilled: { ms: 43 },
  });
  assert.deepEqual(entry?.alsoDeleted, ['category:1:products']);
  assert.equal(entry?.summary, 'products #3: price 14.50 → 15.70');
  // seen, invalidated, list deleted, miss, refilled: the marker after the deletion and the HIT change nothing.
  assert.equal(updates.length, 5);
});

test('an invalidation Redis reports before the change event arrives is matched when it arrives', () => {
  const { timeline } = recorder();
  timeline.redisObserved({ key: 'product:3', at: COMMIT - 50, kind: 'deleted' }); // an older change's
  timeline.redisObserved({ key: 'product:3', at: COMMIT + 3, kind: 'deleted' });
  timeline.changeSeen(priceChange(), COMMIT + 9);
  assert.deepEqual(timeline.snapshot()[0]?.steps.invalidated, { ms: 3, detail: 'deleted product:3' });
});

test('a marker alone means the key was not cached', () => {
  const { timeline } = recorder();
  timeline.changeSeen(priceChange(), COMMIT + 2);
  timeline.redisObserved({ key: 'product:3', at: COMMIT + 5, kind: 'marker' });
  assert.equal(timeline.snapshot()[0]?.steps.invalidated?.detail, 'marker written (product:3 was not cached)');
});

test('a write of the key before the MISS read is not a refill, and reads before the invalidation are not the next read', () => {
  const { timeline } = recorder();
  timeline.changeSeen(priceChange(), COMMIT + 2);
  timeline.readServed('product:3', 'MISS', COMMIT + 3);
  timeline.redisObserved({ key: 'product:3', at: COMMIT + 4, kind: 'written' });
  assert.deepEqual(Object.keys(timeline.snapshot()[0]?.steps ?? {}), ['seen']);
});

test('other rows and other keys do not touch an entry', () => {
  const { timeline } = recorder();
  timeline.changeSeen(priceChange(3), COMMIT + 2);
  timeline.redisObserved({ key: 'product:4', at: COMMIT + 5, kind: 'deleted' });
  timeline.redisObserved({ key: 'category:2:products', at: COMMIT + 5, kind: 'deleted' });
  timeline.readServed('product:4', 'MISS', COMMIT + 6);
  const [entry] = timeline.snapshot();
  assert.deepEqual(Object.keys(entry?.steps ?? {}), ['seen']);
  assert.deepEqual(entry?.alsoDeleted, []);
});

test('the snapshot is newest first and bounded', () => {
  const timeline = new Timeline({ maxEntries: 2 });
  for (const id of [1, 2, 3]) timeline.changeSeen(priceChange(id), COMMIT + id);
  assert.deepEqual(timeline.snapshot().map((e) => e.rowId), [3, 2]);
});

test('keysOf: a product moved between categories watches both category lists', () => {
  const event = priceChange(5, '1.00', '1.00', 1, 2);
  assert.deepEqual(keysOf('products', 5, event.before, event.after), { key: 'product:5', related: ['category:1:products', 'category:2:products'] });
  assert.deepEqual(keysOf('categories', 2, null, { id: 2, name: 'Tea' }), { key: 'category:2', related: ['category:2:products'] });
  assert.deepEqual(keysOf('products', null, null, null), { key: null, related: [] });
  assert.equal(summarize('products', event), 'products #5: category id 1 → 2');
});

test('the Varnish step: timed from the commit, once per entry, unknown entries ignored', () => {
  const { timeline, updates } = recorder();
  timeline.changeSeen(priceChange(), COMMIT + 2);
  const [entry] = timeline.snapshot();
  timeline.varnishObserved(entry!.id, COMMIT + 25, 'purged /products/3 (MISS after 2 stale HITs)');
  timeline.varnishObserved(entry!.id, COMMIT + 90, 'a later report');
  timeline.varnishObserved(entry!.id + 1, COMMIT + 30, 'no such entry');
  assert.deepEqual(timeline.snapshot()[0]?.steps.varnish, { ms: 25, detail: 'purged /products/3 (MISS after 2 stale HITs)' });
  // seen, then the one Varnish step.
  assert.equal(updates.length, 2);
});
