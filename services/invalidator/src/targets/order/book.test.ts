import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WaitBook, type Waiter } from './book.js';

const at = (partition: number, next: bigint, topic = 't', groupId = 'shop'): Waiter => ({ groupId, topic, partition, next });

test('a waiter is freed once its upstream partition reached its offset, not before, and only that partition', () => {
  const book = new WaitBook<Waiter>();
  const p0 = at(0, 10n);
  const p1 = at(1, 10n);
  assert.equal(book.add(p0), false);
  assert.equal(book.add(p1), false);
  assert.deepEqual(book.advance({ groupId: 'shop', topic: 't', partition: 0 }, 9n), [], 'offset 9 is not yet confirmed');
  assert.deepEqual(book.advance({ groupId: 'shop', topic: 't', partition: 0 }, 10n), [p0]);
  assert.equal(book.size, 1);
  assert.deepEqual(book.advance({ groupId: 'other', topic: 't', partition: 1 }, 99n), [], 'another group frees nothing');
  assert.deepEqual(book.advance({ groupId: 'shop', topic: 'u', partition: 1 }, 99n), [], 'another topic frees nothing');
  assert.deepEqual(book.advance({ groupId: 'shop', topic: 't', partition: 1 }, 11n), [p1]);
  assert.equal(book.size, 0);
});

test('what is known to be confirmed frees a later waiter at once; a late, older answer changes nothing', () => {
  const book = new WaitBook<Waiter>();
  book.advance({ groupId: 'shop', topic: 't', partition: 2 }, 50n);
  assert.equal(book.add(at(2, 50n)), true);
  assert.equal(book.size, 0);
  book.advance({ groupId: 'shop', topic: 't', partition: 2 }, 20n);
  assert.equal(book.add(at(2, 40n)), true, 'the position never moves back');
  assert.equal(book.add(at(2, 51n)), false);
});

test('wanted: one fetch per upstream group, naming each topic once; removed waiters are not asked for', () => {
  const book = new WaitBook<Waiter>();
  const gone = at(0, 5n, 'c', 'cdn-behind');
  for (const w of [at(0, 5n, 'b'), at(1, 5n, 'a'), at(2, 7n, 'b'), gone]) book.add(w);
  assert.deepEqual([...book.wanted()], [['shop', ['a', 'b']], ['cdn-behind', ['c']]]);
  book.remove(gone);
  assert.deepEqual([...book.wanted()], [['shop', ['a', 'b']]]);
});
