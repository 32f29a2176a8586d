// Two targets, two consumer groups: a Memcached that stops answering (SIGSTOP: connections stay
// open, nothing replies) holds back only its own group. Redis keeps being invalidated meanwhile,
// the Memcached group commits nothing past what Memcached confirmed, and once it answers again
// that group catches up from its own offsets and deletes what it missed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Producer } from 'kafkajs';
import { createRedisLayout } from '@evictd/schemas';
import { startMemcached, type LocalMemcached } from '@evictd/infra';
import { parseConfig } from '../../services/invalidator/src/config/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { cacheFixture, changeEvent, createProductsTable, produce, productRules, productsTable, startInvalidator, testKafka, waitCommittedToEnd } from './invalidate-helpers.js';

const env = stackEnv();
const ns = uniqueName('targets_iso');
const table = productsTable(ns);
const topic = `${ns}.public.${table}`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const kafka = testKafka(env);
const redis = new Redis(env.REDIS_URL);
const { setAll, gone } = cacheFixture(redis, createRedisLayout({ keyPrefix: `${ns}:` }));
const key = (name: string) => `${ns}:${name}`;
const mcGroup = `${ns}_group.mc`;
let memcached: LocalMemcached;
let producer: Producer;
let role: Role;

/** One memcached text-protocol request on a fresh connection; resolves with the whole reply. */
function memcachedRequest(port: number, request: string, complete: (reply: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (complete(reply)) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.write(request);
  });
}
const mcSet = (name: string) => memcachedRequest(memcached.port, `set ${name} 0 0 6\r\ncached\r\n`, (r) => r.endsWith('\r\n'));
const mcHas = async (name: string) => (await memcachedRequest(memcached.port, `get ${name}\r\n`, (r) => r.endsWith('END\r\n'))).startsWith('VALUE');

before(async () => {
  await db.connect();
  await createProductsTable(db, table);
  memcached = await startMemcached();
  const yaml = `
kafka: { topicPrefix: ${ns}, partitions: 3 }
redis: { keyPrefix: "${ns}:" }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq }
targets:
  redis: { type: redis }
  mc: { type: memcached, servers: ["${memcached.address}"], tags: version-keys, timeoutMs: 500 }
log: { level: silent }
tables: ${JSON.stringify(productRules(ns, table))}
`;
  producer = kafka.producer();
  await producer.connect();
  ({ role } = await startInvalidator(parseConfig(yaml, `/tmp/${ns}.yaml`, env as unknown as NodeJS.ProcessEnv)));
});

after(async () => {
  memcached.resume();
  await role.stop();
  await producer.disconnect();
  await memcached.stop();
  redis.disconnect();
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

const row = (id: number) => ({ id, name: `p${id}`, price: '1.00', category_id: 1, stock: 5 });
const update = (id: number) => produce(producer, topic, [{ key: { id }, value: changeEvent('u', `public.${table}`, row(id), { ...row(id), name: 'renamed' }) }]);
const targetHealth = (name: string) => (role.health().detail.targets as Record<string, { down: false | { error: string } }>)[name];

test('a hung Memcached delays only its own group; it catches up from its own offsets once it answers', async () => {
  // Both groups running and caught up first (an empty topic counts as caught up).
  await update(100);
  await waitCommittedToEnd(kafka, `${ns}_group`, topic, 60_000);
  await waitCommittedToEnd(kafka, mcGroup, topic, 60_000);

  await setAll([key('product:1'), key('product:2')]);
  await mcSet(key('product:1'));
  await mcSet(key('product:2'));
  memcached.pause();
  await update(1);

  // Redis is invalidated while Memcached answers nothing.
  await gone([key('product:1')]);
  assert.equal(await redis.exists(key('product:2')), 1, 'an unchanged row stays cached in Redis');
  await waitFor(() => targetHealth('mc')?.down !== false, { timeoutMs: 30_000, what: 'the Memcached target reported down in /healthz' });
  assert.equal(targetHealth('redis')?.down, false);
  assert.equal(role.health().ok, false, 'a target down is an unhealthy invalidator');

  // The Memcached group has not committed the update it could not apply.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: mcGroup, topics: [topic] });
    const behind = ends.filter((e) => e.offset !== '0' && committed?.partitions.find((p) => p.partition === e.partition)?.offset !== e.offset);
    assert.equal(behind.length, 1, `exactly the partition of the update is uncommitted for ${mcGroup}: ${JSON.stringify({ ends, committed })}`);
  } finally {
    await admin.disconnect();
  }

  memcached.resume();
  await waitFor(async () => !(await mcHas(key('product:1'))), { timeoutMs: 30_000, what: 'product:1 deleted from Memcached after it answers again' });
  assert.equal(await mcHas(key('product:2')), true, 'an unchanged row stays cached in Memcached');
  await waitCommittedToEnd(kafka, mcGroup, topic, 30_000);
  await waitFor(() => role.health().ok, { timeoutMs: 10_000, what: 'the invalidator healthy again' });
});
