import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmpty, mergeInvalidations } from './batch.js';

test('merges a batch and removes duplicates', () => {
  const merged = mergeInvalidations([
    { keys: ['product:1', 'product:1:detail'], tags: ['category:1'], keyShapes: [], tagShapes: [], unresolved: [] },
    { keys: ['product:1', 'product:2'], tags: ['category:1', 'category:2'], keyShapes: ['x:*'], tagShapes: [], unresolved: [] },
    { keys: [], tags: [], keyShapes: ['x:*'], tagShapes: ['category:*'], unresolved: [] },
  ]);
  assert.deepEqual(merged, {
    keys: ['product:1', 'product:1:detail', 'product:2'],
    tags: ['category:1', 'category:2'],
    keyShapes: ['x:*'],
    tagShapes: ['category:*'],
  });
  assert.equal(isEmpty(merged), false);
  assert.equal(isEmpty(mergeInvalidations([])), true);
});
