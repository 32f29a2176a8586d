import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findStale } from './stale.js';

test('a cached value that differs from the database is stale; a missing one is not', () => {
  const cached = new Map<string, string | null>([
    ['k1', '3'],
    ['k2', '4'],
    ['k3', null],
    ['k4', '1'],
  ]);
  const truth = new Map([
    ['k1', '3'],
    ['k2', '5'],
    ['k3', '9'],
  ]);
  assert.deepEqual(findStale(cached, truth), [
    { key: 'k2', cached: '4', expected: '5' },
    { key: 'k4', cached: '1', expected: null },
  ]);
});

test('nothing cached, nothing stale', () => {
  assert.deepEqual(findStale(new Map(), new Map([['k', '1']])), []);
});
