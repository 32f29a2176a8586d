import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OP, parseOp, validateChangeEvent, TOAST_UNAVAILABLE, type ChangeEvent } from './envelope.js';

const source = { connector: 'evictd', name: 'evictd', db: 'app', schema: 'public', table: 'products', txId: 741, lsn: 23456789, ts_ms: 1764000000123, snapshot: 'false' as const };

test('parseOp accepts the Debezium op codes and rejects anything else', () => {
  for (const op of Object.values(OP)) assert.equal(parseOp(op), op);
  for (const bad of ['x', 'C', '', null, 1, undefined]) assert.throws(() => parseOp(bad), /unknown change event op/);
});

test('the schema accepts each kind of event evictd emits', () => {
  const events: ChangeEvent[] = [
    { before: null, after: { id: 1, name: 'a', big: '9007199254740993' }, op: 'c', source, ts_ms: 1764000000125 },
    { before: { id: 1 }, after: { id: 2, blob: TOAST_UNAVAILABLE }, op: 'u', source, ts_ms: 1 },
    { before: null, after: { id: 2 }, op: 'u', source, ts_ms: 1 },
    { before: { id: 2 }, after: null, op: 'd', source, ts_ms: 1 },
    { before: null, after: null, op: 't', source, ts_ms: 1 },
    { before: null, after: null, op: 't', source: { ...source, txId: null, lsn: null }, ts_ms: 1, flush: { reason: 'lost_slot', slot: 'evictd', lastLsn: '0/16B3748' } },
    { before: null, after: { id: 1 }, op: 'c', source: { ...source, lsn: '9007199254740993' }, ts_ms: 1 },
  ];
  for (const e of events) assert.deepEqual(validateChangeEvent(e), [], JSON.stringify(e));
});

test('the schema rejects events that break the envelope', () => {
  const cases: [string, unknown][] = [
    ['unknown op', { before: null, after: { id: 1 }, op: 'x', source, ts_ms: 1 }],
    ['insert without after', { before: null, after: null, op: 'c', source, ts_ms: 1 }],
    ['delete without before', { before: null, after: null, op: 'd', source, ts_ms: 1 }],
    ['truncate with a row', { before: null, after: { id: 1 }, op: 't', source, ts_ms: 1 }],
    ['flush on a non-truncate', { before: null, after: { id: 1 }, op: 'c', source, ts_ms: 1, flush: { reason: 'lost_slot', slot: 's', lastLsn: null } }],
    ['missing source table', { before: null, after: { id: 1 }, op: 'c', source: { ...source, table: undefined }, ts_ms: 1 }],
    ['lsn as a float', { before: null, after: { id: 1 }, op: 'c', source: { ...source, lsn: 1.5 }, ts_ms: 1 }],
    ['unknown top-level field', { before: null, after: { id: 1 }, op: 'c', source, ts_ms: 1, extra: 1 }],
  ];
  for (const [name, e] of cases) assert.notDeepEqual(validateChangeEvent(e), [], name);
});
