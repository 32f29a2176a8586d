import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stackEnv, uniqueName } from './index.js';

test('uniqueName gives distinct names that are valid Postgres identifiers and Kafka topics', () => {
  const names = Array.from({ length: 100 }, () => uniqueName('smoke'));
  assert.equal(new Set(names).size, names.length);
  for (const name of names) {
    assert.match(name, /^[a-z][a-z0-9_]{0,62}$/);
    assert.match(name, /^[a-zA-Z0-9._-]{1,249}$/);
  }
  assert.ok(uniqueName('a'.repeat(40)).length <= 63);
});

test('uniqueName rejects a prefix that would not be a plain identifier', () => {
  assert.throws(() => uniqueName('Bad-Prefix'), /uniqueName prefix "Bad-Prefix"/);
  assert.throws(() => uniqueName(''), /use 1-40 of/);
});

test('stackEnv names the runner when the variables are missing, and says which are missing when some are', () => {
  assert.throws(() => stackEnv({}), /npm test/);
  assert.throws(() => stackEnv({ DATABASE_URL: 'postgres://x' }), /DATABASE_URL set but KAFKA_BROKERS, REDIS_URL not/);
  const env = { DATABASE_URL: 'postgres://x', KAFKA_BROKERS: 'h:1', REDIS_URL: 'redis://y' };
  assert.deepEqual(stackEnv(env), env);
});
