import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedisLayout } from '@evictd/schemas';
import { ownPrefixes, planScans } from './expand.js';

const layout = createRedisLayout({ keyPrefix: 'app*1:' });

test('no shapes, no scans', () => {
  assert.deepEqual(planScans(layout, [], []), []);
});

test('scans key shapes as they are and tag shapes behind the escaped tag-set prefix', () => {
  assert.deepEqual(planScans(layout, ['product:*'], ['category:*']), [
    { match: 'product:*', yields: 'key', strip: '' },
    { match: 'app\\*1:evictd:tag:category:*', yields: 'tag', strip: 'app*1:evictd:tag:' },
  ]);
});

test('own prefixes come from the layout and cover every kind of evictd key', () => {
  assert.deepEqual(ownPrefixes(layout), [
    'app*1:evictd:lease:',
    'app*1:evictd:mk:',
    'app*1:evictd:mt:',
    'app*1:evictd:tag:',
    'app*1:evictd:ms:k:',
    'app*1:evictd:ms:t:',
    'app*1:evictd:shape:k:',
    'app*1:evictd:shape:t:',
    'app*1:evictd:cleanup',
  ]);
});
