import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeChangeEvent } from './change-feed.js';

const event = {
  before: null,
  after: { id: 1, price: '2.00' },
  op: 'c',
  source: { connector: 'evictd', name: 'demo', db: 'app', schema: 'public', table: 'products', txId: 1, lsn: 1, ts_ms: 1000, snapshot: 'false' },
  ts_ms: 1001,
};
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

test('decodeChangeEvent reads evictd envelopes and Debezium {schema, payload} wrappers', () => {
  assert.deepEqual(decodeChangeEvent(bytes(event)), event);
  assert.deepEqual(decodeChangeEvent(bytes({ schema: {}, payload: event })), event);
});

test('decodeChangeEvent ignores tombstones and what the timeline cannot place', () => {
  assert.equal(decodeChangeEvent(null), null);
  assert.equal(decodeChangeEvent(Buffer.alloc(0)), null);
  assert.equal(decodeChangeEvent(Buffer.from('{not json')), null);
  assert.equal(decodeChangeEvent(bytes({ ...event, op: 'x' })), null);
  assert.equal(decodeChangeEvent(bytes({ ...event, source: { table: 'products' } })), null);
});
