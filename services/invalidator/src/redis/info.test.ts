import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { CounterMirror, parseRedisInfo, startRedisInfoSampler } from './info.js';

// Trimmed from a Redis 7.2 `INFO memory` / `INFO stats` / `INFO keyspace`, CRLF as sent.
const INFO = [
  '# Memory', 'used_memory:1048576', 'used_memory_human:1.00M', 'maxmemory:67108864', 'maxmemory_human:64.00M', 'maxmemory_policy:allkeys-lru', '',
  '# Stats', 'total_commands_processed:123', 'evicted_keys:7', 'keyspace_hits:900', 'keyspace_misses:100', '',
  '# Keyspace', 'db0:keys=12,expires=10,avg_ttl=29000', 'db3:keys=4,expires=0,avg_ttl=0,subexpiry=0', '',
].join('\r\n');

test('parses the memory, stats and keyspace figures out of INFO text', () => {
  assert.deepEqual(parseRedisInfo(INFO), {
    usedMemoryBytes: 1_048_576,
    maxmemoryBytes: 67_108_864,
    maxmemoryPolicy: 'allkeys-lru',
    evictedKeys: 7,
    keyspaceHits: 900,
    keyspaceMisses: 100,
    keys: { db0: 12, db3: 4 },
  });
});

test('a missing or non-numeric field is null, not 0 or NaN', () => {
  const info = parseRedisInfo('# Memory\r\nused_memory:abc\r\n');
  assert.equal(info.usedMemoryBytes, null);
  assert.equal(info.maxmemoryBytes, null);
  assert.equal(info.evictedKeys, null);
  assert.deepEqual(info.keys, {});
});

test('the counter mirror adds differences, and the whole value after a Redis restart', async () => {
  const registry = new Registry();
  const counter = new Counter({ name: 't_total', help: 't', registers: [registry] });
  const mirror = new CounterMirror(counter);
  const value = async () => (await counter.get()).values[0]?.value ?? 0;
  mirror.observe(10);
  assert.equal(await value(), 10);
  mirror.observe(15);
  assert.equal(await value(), 15);
  mirror.observe(null);
  mirror.observe(3); // Redis restarted: its counter began again at 0
  assert.equal(await value(), 18);
});

test('a failed sample counts as failed and keeps the last figures', async () => {
  const registry = new Registry();
  let fail = false;
  const sampler = startRedisInfoSampler({
    registry,
    everyMs: 3_600_000,
    redis: { info: async () => { if (fail) throw new Error('connection closed'); return INFO; } },
  });
  // The sample taken at start is still in flight: this call joins it rather than sending INFO again.
  assert.equal(await sampler.sample(), true);
  fail = true;
  assert.equal(await sampler.sample(), false);
  await sampler.stop();
  const text = await registry.metrics();
  assert.match(text, /^evictd_redis_used_memory_bytes 1048576$/m);
  assert.match(text, /^evictd_redis_maxmemory_bytes\{policy="allkeys-lru"\} 67108864$/m);
  assert.match(text, /^evictd_redis_keys\{db="db0"\} 12$/m);
  assert.match(text, /^evictd_redis_keyspace_hits_total 900$/m);
  assert.match(text, /^evictd_redis_info_samples_total\{outcome="failed"\} 1$/m);
  assert.match(text, /^evictd_redis_info_samples_total\{outcome="ok"\} 1$/m);
});
