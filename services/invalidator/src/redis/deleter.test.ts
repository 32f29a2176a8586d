import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvictdError, isRetriable } from '../errors.js';
import { classifyRedisError } from './deleter.js';

function replyError(message: string): Error {
  const err = new Error(message);
  err.name = 'ReplyError';
  return err;
}

test('connection failures and transient replies are retriable', () => {
  for (const err of [new Error('Connection is closed.'), Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), replyError('LOADING Redis is loading the dataset in memory')]) {
    const classified = classifyRedisError(err);
    assert.ok(classified instanceof EvictdError);
    assert.equal(classified.code, 'REDIS_UNAVAILABLE');
    assert.equal(isRetriable(classified), true);
  }
});

test('other error replies are not retried', () => {
  const classified = classifyRedisError(replyError('WRONGTYPE Operation against a key holding the wrong kind of value'));
  assert.ok(classified instanceof EvictdError);
  assert.equal(classified.code, 'REDIS_ERROR');
  assert.equal(isRetriable(classified), false);
});

test('programming errors pass through unchanged', () => {
  const err = new TypeError('keys must be an array');
  assert.equal(classifyRedisError(err), err);
});
