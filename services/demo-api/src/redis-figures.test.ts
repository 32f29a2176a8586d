import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEvictdRedisMetrics, redisReport } from './redis-figures.js';

const EXPOSITION = [
  '# HELP evictd_redis_used_memory_bytes Redis INFO used_memory: bytes Redis has allocated',
  '# TYPE evictd_redis_used_memory_bytes gauge',
  'evictd_redis_used_memory_bytes 1048576',
  'evictd_redis_maxmemory_bytes{policy="allkeys-lru"} 67108864',
  'evictd_redis_evicted_keys_total 40',
  'evictd_redis_keyspace_hits_total 300',
  'evictd_redis_keyspace_misses_total 100',
  'evictd_redis_keys{db="db0"} 12',
  'evictd_redis_info_samples_total{outcome="ok"} 3',
  'evictd_invalidations_total 9',
  '',
].join('\n');

test('the evictd_redis_* figures of a /metrics text, with the maxmemory policy from its label', () => {
  assert.deepEqual(parseEvictdRedisMetrics(EXPOSITION), {
    usedMemoryBytes: 1048576,
    maxmemoryBytes: 67108864,
    maxmemoryPolicy: 'allkeys-lru',
    evictedKeys: 40,
    keyspaceHits: 300,
    keyspaceMisses: 100,
  });
  const none = parseEvictdRedisMetrics('# nothing\nprocess_cpu_seconds_total 1\n');
  assert.deepEqual(Object.values(none), [null, null, null, null, null, null]);
});

test('the report: evictions per second from the counter\'s delta, the keyspace hit ratio', () => {
  const first = { at: 10_000, figures: parseEvictdRedisMetrics(EXPOSITION) };
  const r1 = redisReport(first, null);
  assert.ok(r1.ok);
  assert.equal(r1.evictionsPerSecond, null);
  assert.equal(r1.hitRatio, 0.75);
  const second = { at: 15_000, figures: { ...first.figures, evictedKeys: 65 } };
  const r2 = redisReport(second, first);
  assert.ok(r2.ok);
  assert.equal(r2.evictionsPerSecond, 5);
  // evictd restarted (its counter went down): no rate for that interval; no lookups yet: no ratio.
  const r3 = redisReport({ at: 20_000, figures: { ...first.figures, evictedKeys: 2, keyspaceHits: 0, keyspaceMisses: 0 } }, second);
  assert.ok(r3.ok);
  assert.equal(r3.evictionsPerSecond, null);
  assert.equal(r3.hitRatio, null);
});
