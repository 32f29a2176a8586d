import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromPgError, isRetriable } from './errors.js';

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('fromPgError classifies SQLSTATE classes', () => {
  const table: Array<[string, string, boolean]> = [
    ['28P01', 'PG_AUTH', false],
    ['42501', 'PG_PERMISSION', false],
    ['57P01', 'PG_UNAVAILABLE', true],
    ['08006', 'PG_UNAVAILABLE', true],
    ['55006', 'PG_UNAVAILABLE', true],
    ['42P01', 'PG_ERROR', false],
  ];
  for (const [sqlstate, code, retriable] of table) {
    const err = fromPgError(pgError(sqlstate, 'boom'), 'reading the slot');
    assert.equal(err.code, code, sqlstate);
    assert.equal(isRetriable(err), retriable, sqlstate);
    assert.match(err.message, /^reading the slot: /);
  }
});

test('fromPgError treats socket errors as retriable and keeps the cause', () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5'), { code: 'ECONNREFUSED' });
  const err = fromPgError(cause, 'connecting');
  assert.equal(err.retriable, true);
  assert.equal(err.cause, cause);
});

test('permission errors say what to grant', () => {
  assert.match(fromPgError(pgError('42501', 'must be superuser'), 'creating slot').message, /REPLICATION/);
});
