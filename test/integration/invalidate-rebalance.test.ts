// Two invalidators join the same consumer group while events flow: partitions move between them
// mid-stream, and still every event is applied and every offset committed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { changeEvent, countExisting, createProductsTable, invalidatorConfig, productsTable, startInvalidator, testKafka, waitCommittedToEnd } from './invalidate-helpers.js';

const EVENTS = 6_000;
const env = stackEnv();
const ns = uniqueName('inv_rebalance');
const table = productsTable(ns);
const topic = `${ns}.public.${table}`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const config = invalidatorConfig(env, ns);
const kafka = testKafka(env);
const redis = new Redis(env.REDIS_URL);
const roles: Role[] = [];
const key = (id: number) => `${ns}:product:${id}`;

before(async () => {
  await db.connect();
  await createProductsTable(db, table);
});

after(async () => {
  for (const role of roles) await role.stop();
  redis.disconnect();
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

const allKeys = Array.from({ length: EVENTS }, (_, id) => key(id));
const remaining = () => countExisting(redis, allKeys);

test('a second member joining mid-stream takes partitions over without losing an event', async () => {
  for (let i = 0; i < EVENTS; i += 1000) await redis.mset(...Array.from({ length: 1000 }, (_, j) => [key(i + j), 'cached']).flat());
  const producer = kafka.producer();
  await producer.connect();
  const send = async (from: number, to: number) => {
    for (let start = from; start < to; start += 500) {
      const messages = Array.from({ length: Math.min(500, to - start) }, (_, j) => {
        const id = start + j;
        return { key: JSON.stringify({ id }), value: JSON.stringify(changeEvent('u', `public.${table}`, { id, name: 'a', price: '1', category_id: 1 }, { id, name: 'b', price: '1', category_id: 1 })) };
      });
      await producer.send({ topic, acks: -1, messages });
    }
  };
  try {
    roles.push((await startInvalidator(config)).role);
    await send(0, EVENTS / 2);
    await waitFor(async () => (await remaining()) < EVENTS, { timeoutMs: 30_000, what: 'the first member applying events' });
    // Joins while the first member may still be busy: the group rebalances under load.
    const second = await startInvalidator(config);
    roles.push(second.role);
    await send(EVENTS / 2, EVENTS);
    await waitFor(async () => (await remaining()) === 0, { timeoutMs: 60_000, what: 'every key deleted' });
    assert.match(await second.metrics(), /evictd_invalidate_events_total\{[^}]*outcome="invalidated"[^}]*\} [1-9]/, 'the second member applied events too');
  } finally {
    await producer.disconnect();
  }
  await waitCommittedToEnd(kafka, config.invalidate.groupId, topic);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = await admin.describeGroups([config.invalidate.groupId]);
    assert.equal(groups.groups[0]?.members.length, 2, 'both members share the group');
  } finally {
    await admin.disconnect();
  }
});
