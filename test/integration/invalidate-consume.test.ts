// The invalidator against real Kafka and Redis: events written to Kafka by the test (evictd's
// envelope and Debezium's), deletions observed in Redis, offsets and dead letters in Kafka.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Consumer, Producer } from 'kafkajs';
import { createRedisLayout } from '@evictd/schemas';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { cacheFixture, changeEvent, createProductsTable, heldRead, invalidatorConfig, produce, productCache, productsTable, startInvalidator, testKafka, waitCommittedToEnd } from './invalidate-helpers.js';

const env = stackEnv();
const ns = uniqueName('inv_consume');
const config = invalidatorConfig(env, ns);
const table = productsTable(ns);
const topic = `${ns}.public.${table}`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const layout = createRedisLayout({ keyPrefix: `${ns}:` });
const kafka = testKafka(env);
const key = (name: string) => `${ns}:${name}`;
const redis = new Redis(env.REDIS_URL);
const { setAll, filled, gone, tagged: tagSet } = cacheFixture(redis, layout);
let producer: Producer;
let role: Role;
let metrics: () => Promise<string>;

before(async () => {
  await db.connect();
  await createProductsTable(db, table);
  producer = kafka.producer();
  await producer.connect();
  ({ role, metrics } = await startInvalidator(config));
});

after(async () => {
  await role.stop();
  await producer.disconnect();
  redis.disconnect();
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

const row = (id: number, over: Record<string, unknown> = {}) => ({ id, name: `p${id}`, price: '1.00', category_id: 1, stock: 5, ...over });

const tagged = (tag: string, members: string[]) => tagSet(key(tag), members);

test('an UPDATE removes the mapped keys and the members of the old and the new tag, and writes markers', async () => {
  const keys = [key('product:1'), key('product:1:detail')];
  await setAll([...keys, key('product:2')]);
  await tagged('category:1', [key('list:cat1')]);
  await tagged('category:2', [key('list:cat2')]);
  await tagged('category:3', [key('list:cat3')]);
  await produce(producer, topic, [{ key: { id: 1 }, value: changeEvent('u', `public.${table}`, row(1), row(1, { category_id: 2 })) }]);
  await gone([...keys, key('list:cat1'), key('list:cat2')]);
  assert.equal(await redis.exists(key('product:2'), key('list:cat3')), 2, 'unrelated keys and tags stay');
  assert.equal(await redis.exists(layout.tagSetKey(key('category:1')), layout.tagSetKey(key('category:2'))), 0, 'tag sets removed');
  assert.equal(await redis.exists(layout.keyMarkerKey(key('product:1')), layout.tagMarkerKey(key('category:2'))), 2, 'markers written');
});

test('a change to an unwatched column removes nothing', async () => {
  await setAll([key('product:10'), key('product:11')]);
  // Same partition, in order: once the second event is applied, the first was processed too.
  await produce(producer, topic, [
    { key: { id: 10 }, value: changeEvent('u', `public.${table}`, row(10), row(10, { stock: 4 })) },
    { key: { id: 11 }, value: changeEvent('u', `public.${table}`, row(11), row(11, { price: '2.00' })) },
  ]);
  await gone([key('product:11')]);
  assert.equal(await redis.get(key('product:10')), 'cached');
});

test('TRUNCATE removes every key the table rules can produce and every key filled with its tags, nothing else', async () => {
  const cache = productCache(redis, ns, table);
  const products = Array.from({ length: 300 }, (_, i) => [key(`product:${i + 100}`), key(`product:${i + 100}:detail`)]).flat();
  await filled(cache, [...products, key('other:1'), key('productx')]);
  await filled(cache, [key('list:cat7')], [key('category:7')]);
  // Written outside the protocol (a plain SET): only the opt-in scan would find it.
  await setAll([key('product:999')]);
  // A reader took its lease and read the row before the TRUNCATE; its fill lands after it.
  const held = heldRead(cache, key('product:5000'), 'old');
  await held.started;
  await produce(producer, topic, [{ key: null, value: changeEvent('t', `public.${table}`, null, null) }]);
  await gone([...products, key('list:cat7')]);
  await waitCommittedToEnd(kafka, config.invalidate.groupId, topic);
  assert.equal(await held.land(), 'old', 'the reader gets its value');
  assert.equal(await redis.exists(key('product:5000')), 0, 'its fill was refused: the shape was fenced before anything was deleted');
  assert.equal(await redis.exists(key('other:1'), key('productx')), 2);
  assert.equal(await redis.get(key('product:999')), 'cached', 'scanUnregistered is off by default');
  assert.match(await metrics(), new RegExp(`evictd_invalidate_shape_flushes_total\\{table="public.${table}",cause="truncate",target="redis"\\} 3`));
});

test('a malformed message goes to the dead-letter topic with its reason; the next valid one is applied', async () => {
  await setAll([key('product:20')]);
  await produce(producer, topic, [
    { key: { id: 19 }, value: '{"op": "u", "before": ' },
    { key: { id: 20 }, value: changeEvent('d', `public.${table}`, row(20), null) },
  ]);
  await gone([key('product:20')]);

  const dlq: Consumer = kafka.consumer({ groupId: `${ns}_dlq_reader`, maxWaitTimeInMs: 50 });
  const received: Array<{ value: string; headers: Record<string, string> }> = [];
  await dlq.connect();
  await dlq.subscribe({ topic: config.invalidate.deadLetterTopic, fromBeginning: true });
  await dlq.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      received.push({ value: String(message.value), headers });
    },
  });
  try {
    await waitFor(() => received.length > 0, { timeoutMs: 20_000, what: 'a dead letter' });
  } finally {
    await dlq.disconnect();
  }
  assert.equal(received[0]?.value, '{"op": "u", "before": ');
  assert.match(received[0]?.headers.reason ?? '', /value is not valid JSON/);
  assert.equal(received[0]?.headers['original-topic'], topic);
  assert.equal(received[0]?.headers['original-partition'], '0');
  assert.match(await metrics(), /evictd_invalidate_dead_letters_total\{topic="[^"]+"\} 1/);
});

test("a Debezium-shaped message ({schema, payload}, Debezium's source block) is applied like ours", async () => {
  await setAll([key('product:30'), key('product:30:detail')]);
  const value = {
    schema: { type: 'struct', optional: false, name: `${ns}.public.${table}.Envelope`, fields: [] },
    payload: {
      before: row(30),
      after: row(30, { name: 'renamed' }),
      source: { version: '2.7.0.Final', connector: 'postgresql', name: ns, ts_ms: Date.now(), snapshot: 'false', db: 'app', sequence: '[null,"1"]', schema: 'public', table, txId: 9, lsn: 1, xmin: null },
      op: 'u',
      ts_ms: Date.now(),
      transaction: null,
    },
  };
  const keySchema = { schema: { type: 'struct', fields: [{ type: 'int32', optional: false, field: 'id' }] }, payload: { id: 30 } };
  await produce(producer, topic, [{ key: keySchema, value }]);
  await gone([key('product:30'), key('product:30:detail')]);
});

test('tombstones are skipped, and offsets are committed up to the end of the topic', async () => {
  await setAll([key('product:40')]);
  await produce(producer, topic, [
    { key: { id: 39 }, value: null },
    { key: { id: 40 }, value: changeEvent('c', `public.${table}`, null, row(40)) },
  ]);
  await gone([key('product:40')]);
  await waitCommittedToEnd(kafka, config.invalidate.groupId, topic);
  const text = await metrics();
  assert.ok(text.includes(`evictd_invalidate_events_total{table="public.${table}",op="u",outcome="filtered",target="redis"} 1`), 'the unwatched change counted as filtered');
  assert.match(text, /evictd_invalidate_commit_to_delete_seconds_count\{target="redis"\} \d+/);
  assert.equal(role.health().ok, true);
});
