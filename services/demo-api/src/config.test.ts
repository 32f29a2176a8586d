import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_RULES_FILE, DemoConfigError, parseDemoConfig } from './config.js';

const base = { DATABASE_URL: 'postgres://app@db:5432/app', REDIS_URL: 'redis://cache:6379', KAFKA_BROKERS: 'k1:9092, k2:9092' };

test('defaults apply when only the three server addresses are set', () => {
  const config = parseDemoConfig(base);
  assert.deepEqual(config.kafkaBrokers, ['k1:9092', 'k2:9092']);
  assert.equal(config.topicPrefix, 'demo');
  assert.equal(config.keyPrefix, '');
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.cacheTtlMs, 300_000);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.rulesFile, DEMO_RULES_FILE);
  assert.ok(Object.isFrozen(config));
});

test('every setting is read from its variable', () => {
  const config = parseDemoConfig({ ...base, EVICTD_TOPIC_PREFIX: 'shop', EVICTD_KEY_PREFIX: 'demo:', HOST: '0.0.0.0', PORT: '0', CACHE_TTL_MS: '1500', LOG_LEVEL: 'debug', EVICTD_RULES_FILE: '/etc/evictd/evictd.yaml' });
  assert.equal(config.topicPrefix, 'shop');
  assert.equal(config.rulesFile, '/etc/evictd/evictd.yaml');
  assert.equal(config.keyPrefix, 'demo:');
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.port, 0);
  assert.equal(config.cacheTtlMs, 1500);
  assert.equal(config.logLevel, 'debug');
});

test('all problems are reported at once, each naming its variable, without echoing URLs', () => {
  const env = { DATABASE_URL: 'mysql://root:hunter2@db/app', KAFKA_BROKERS: 'k1', PORT: '80a', CACHE_TTL_MS: '0', LOG_LEVEL: 'loud', EVICTD_TOPIC_PREFIX: 'a b' };
  const err = (() => {
    try {
      parseDemoConfig(env);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof DemoConfigError);
  const text = err.problems.join('\n');
  for (const name of ['DATABASE_URL is not a postgres', 'REDIS_URL is not set', 'KAFKA_BROKERS must be', 'PORT must be an integer', 'CACHE_TTL_MS must be', 'LOG_LEVEL must be one of', 'EVICTD_TOPIC_PREFIX may hold']) {
    assert.ok(text.includes(name), `expected a problem about ${name} in:\n${text}`);
  }
  assert.equal(err.problems.length, 7);
  assert.ok(!err.message.includes('hunter2'));
});

test('the two-instance settings: name, L1 on by default, the peer URL without its trailing slash', () => {
  const defaults = parseDemoConfig(base);
  assert.deepEqual([defaults.instance, defaults.l1, defaults.peerUrl], ['A', true, null]);
  const b = parseDemoConfig({ ...base, DEMO_INSTANCE: 'B', DEMO_L1: 'off', DEMO_PEER_URL: 'http://127.0.0.1:8081/' });
  assert.deepEqual([b.instance, b.l1, b.peerUrl], ['B', false, 'http://127.0.0.1:8081']);
  assert.throws(
    () => parseDemoConfig({ ...base, DEMO_INSTANCE: 'a b', DEMO_L1: 'yes', DEMO_PEER_URL: 'ftp://x/y' }),
    (err: unknown) => err instanceof DemoConfigError && err.problems.length === 3 && /DEMO_L1 must be on or off/.test(err.message),
  );
});

test('the Varnish in front (DEMO_VARNISH_URL): off by default, a base URL without its trailing slash, anything else refused', () => {
  assert.equal(parseDemoConfig(base).varnishUrl, null);
  assert.equal(parseDemoConfig({ ...base, DEMO_VARNISH_URL: 'http://varnish:80/' }).varnishUrl, 'http://varnish:80');
  assert.throws(
    () => parseDemoConfig({ ...base, DEMO_VARNISH_URL: 'varnish:80/products' }),
    (err: unknown) => err instanceof DemoConfigError && err.problems.length === 1 && /DEMO_VARNISH_URL must be the Varnish's http\(s\) base URL/.test(err.message),
  );
});
