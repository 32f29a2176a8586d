import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruStore } from './lru.js';

const v = (s: string) => Buffer.from(s);

test('evicts the least recently used entry past maxEntries; a get refreshes recency', () => {
  const lru = new LruStore({ maxEntries: 2, maxBytes: 1_000 });
  lru.set('a', v('1'), 100);
  lru.set('b', v('2'), 100);
  assert.equal(lru.get('a', 0)?.toString(), '1'); // a is now the most recent
  lru.set('c', v('3'), 100);
  assert.deepEqual([...lru.keys()], ['a', 'c']);
  assert.equal(lru.evictions, 1);
});

test('stays within maxBytes (key and value counted) and refuses a value bigger than the bound', () => {
  const lru = new LruStore({ maxEntries: 100, maxBytes: 20 });
  lru.set('k1', v('12345'), 100); // 4 + 5 = 9 bytes
  lru.set('k2', v('12345'), 100); // 18
  assert.equal(lru.bytes, 18);
  lru.set('k3', v('123'), 100); // 25 > 20: k1 goes
  assert.deepEqual([...lru.keys()], ['k2', 'k3']);
  assert.equal(lru.bytes, 16);
  assert.equal(lru.set('big', v('x'.repeat(30)), 100), false);
  assert.equal(lru.has('big'), false);
  assert.equal(lru.bytes, 16);
});

test('replacing a key recounts its bytes', () => {
  const lru = new LruStore({ maxEntries: 10, maxBytes: 100 });
  lru.set('k', v('1234567890'), 100);
  lru.set('k', v('1'), 100);
  assert.equal(lru.bytes, 3);
  assert.equal(lru.size, 1);
});

test('an entry is gone at its expiry', () => {
  const lru = new LruStore({ maxEntries: 10, maxBytes: 100 });
  lru.set('k', v('1'), 50);
  assert.equal(lru.get('k', 49)?.toString(), '1');
  assert.equal(lru.get('k', 50), undefined);
  assert.equal(lru.size, 0);
  assert.equal(lru.bytes, 0);
});

test('delete and clear', () => {
  const lru = new LruStore({ maxEntries: 10, maxBytes: 100 });
  lru.set('a', v('1'), 50);
  lru.set('b', v('1'), 50);
  assert.equal(lru.delete('a'), true);
  assert.equal(lru.delete('a'), false);
  assert.equal(lru.clear(), 1);
  assert.equal(lru.bytes, 0);
});

test('bad bounds throw naming the option', () => {
  assert.throws(() => new LruStore({ maxEntries: 0, maxBytes: 1 }), /l1\.maxEntries/);
  assert.throws(() => new LruStore({ maxEntries: 1, maxBytes: 1.5 }), /l1\.maxBytes/);
});
