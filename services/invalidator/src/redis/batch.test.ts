import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmpty, mergeInvalidations } from './batch.js';

test('merges a batch and removes duplicates', () => {
  const merged = mergeInvalidations([
    { keys: ['product:1', 'product:1:detail'], tags: ['category:1'], keyGlobs: [], tagGlobs: [], unresolved: [] },
    { keys: ['product:1', 'product:2'], tags: ['category:1', 'category:2'], keyGlobs: ['x:*'], tagGlobs: [], unresolved: [] },
    { keys: [], tags: [], keyGlobs: ['x:*'], tagGlobs: ['category:*'], unresolved: [] },
  ]);
  assert.deepEqual(merged, {
    keys: ['product:1', 'product:1:detail', 'product:2'],
    tags: ['category:1', 'category:2'],
    keyGlobs: ['x:*'],
    tagGlobs: ['category:*'],
  });
  assert.equal(isEmpty(merged), false);
  assert.equal(isEmpty(mergeInvalidations([])), true);
});
