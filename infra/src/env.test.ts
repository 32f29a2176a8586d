import assert from 'node:assert/strict';
import { test } from 'node:test';
import { externalStackEnv } from './env.js';

test('externalStackEnv: none set means start a stack, all set means use them', () => {
  assert.equal(externalStackEnv({}), undefined);
  const env = { DATABASE_URL: 'postgres://u@h:1/db', KAFKA_BROKERS: 'h:9092', REDIS_URL: 'redis://h:6379', OTHER: 'x' };
  assert.deepEqual(externalStackEnv(env), { DATABASE_URL: env.DATABASE_URL, KAFKA_BROKERS: env.KAFKA_BROKERS, REDIS_URL: env.REDIS_URL });
});

test('externalStackEnv: some but not all set is an error naming both sides', () => {
  assert.throws(() => externalStackEnv({ REDIS_URL: 'redis://h:1', KAFKA_BROKERS: '' }), /REDIS_URL set but DATABASE_URL, KAFKA_BROKERS not/);
});
