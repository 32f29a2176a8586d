import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notifyFlags } from './observer.js';

test('notification classes cover exactly the watched events', () => {
  assert.equal(notifyFlags(['del']), 'Eg');
  assert.equal(notifyFlags(['del', 'set']), 'Eg$');
  assert.equal(notifyFlags(['set', 'expired', 'del']), 'E$xg');
});
