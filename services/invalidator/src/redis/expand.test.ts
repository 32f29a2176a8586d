import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedisLayout } from '@evictd/schemas';
import { ownPrefixes, planScans } from './expand.js';

const layout = createRedisLayout({ keyPrefix: 'app*1:' });

test('no globs, no scans', () => {
  assert.deepEqual(planScans(layout, [], []), []);
});

test('scans key globs as they are, tag globs behind the escaped tag-set prefix, and every lease', () => {
  assert.deepEqual(planScans(layout, ['product:*'], ['category:*']), [
    { match: 'product:*', yields: 'key', strip: '' },
    { match: 'app\\*1:evictd:tag:category:*', yields: 'tag', strip: 'app*1:evictd:tag:' },
    { match: 'app\\*1:evictd:lease:*', yields: 'key', strip: 'app*1:evictd:lease:' },
  ]);
});

test('own prefixes come from the layout', () => {
  assert.deepEqual(ownPrefixes(layout), ['app*1:evictd:lease:', 'app*1:evictd:mk:', 'app*1:evictd:mt:', 'app*1:evictd:tag:']);
});
