// The publisher against real Postgres and Kafka: every kind of change on tables with the common
// types arrives with the right op, before/after and key, and validates against the JSON Schema.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { TOAST_UNAVAILABLE, validateChangeEvent } from '@evictd/schemas';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { dropSlot, publishConfig, readTopics, startPublisher, testKafka, type Received } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_events');
const kinds = `${ns}_kinds`;
const items = `${ns}_items`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
let role: Role;
let metrics: () => Promise<string>;
let reader: Awaited<ReturnType<typeof readTopics>>;

before(async () => {
  await db.connect();
  await db.query(`CREATE TYPE ${ns}_mood AS ENUM ('happy', 'sad')`);
  await db.query(`CREATE TABLE ${kinds} (
    id bigint PRIMARY KEY, n numeric(30,10), i int, f float8, b boolean, t text, ts timestamp, tstz timestamptz, d date,
    j json, jb jsonb, arr int[], tags text[], blob bytea, u uuid, mood ${ns}_mood, big text)`);
  await db.query(`CREATE TABLE ${items} (id int PRIMARY KEY, category_id int, name text)`);
  await db.query(`ALTER TABLE ${items} REPLICA IDENTITY FULL`);
  const config = publishConfig(env, ns, `
  public.${kinds}: { keys: ["k:{id}"] }
  public.${items}: { keys: ["i:{id}"], tags: ["c:{category_id}"] }`);
  ({ role, metrics } = await startPublisher(config));
  reader = await readTopics(testKafka(env), [`${ns}.public.${kinds}`, `${ns}.public.${items}`], ns);
});

after(async () => {
  await reader?.stop();
  await role?.stop();
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${kinds}, ${items}`);
  await db.query(`DROP TYPE IF EXISTS ${ns}_mood`);
  await db.end();
});

function eventsFor(topicTable: string, count: number): Promise<Received[]> {
  return waitFor(() => {
    const got = reader.messages.filter((m) => m.topic === `${ns}.public.${topicTable}`);
    return got.length >= count && got;
  }, { timeoutMs: 30_000, what: `${count} events of ${topicTable}` });
}

test('insert, update, delete and truncate of common types arrive with correct before/after and keys', async () => {
  // Random text does not compress, so it is stored out of line (TOAST) and not resent when unchanged.
  const random = Array.from({ length: 20_000 }, () => Math.random().toString(36).slice(2)).join('');
  await db.query(
    `INSERT INTO ${kinds} VALUES (9007199254740993, 12345678901234567890.0123456789, -7, 1.5, true, 'hé "q"', '2026-01-02 03:04:05.123456',
      '2026-01-02 03:04:05.123456+02', '2026-01-02', '{"a": 12345678901234567890}', '{"b": [1, 2]}', '{1,NULL,3}', '{"a b",c}', '\\x00ff',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', $1)`,
    [random],
  );
  await db.query(`UPDATE ${kinds} SET i = 8 WHERE id = 9007199254740993`); // big unchanged: TOAST not sent
  await db.query(`UPDATE ${kinds} SET id = 2 WHERE id = 9007199254740993`);
  await db.query(`DELETE FROM ${kinds} WHERE id = 2`);
  await db.query(`TRUNCATE ${kinds}`);

  // Across partitions (the key change moves the row) Kafka keeps no order: sort by WAL position.
  const events = (await eventsFor(kinds, 5)).sort((a, b) => (a.value!.source as { lsn: number }).lsn - (b.value!.source as { lsn: number }).lsn);
  for (const e of events) assert.deepEqual(validateChangeEvent(e.value), [], JSON.stringify(e.value).slice(0, 500));
  const [insert, update, rekey, del, truncate] = events.map((e) => e.value!);
  assert.deepEqual(events.map((e) => e.value!.op), ['c', 'u', 'u', 'd', 't']);
  assert.deepEqual(events.map((e) => e.key), [{ id: '9007199254740993' }, { id: '9007199254740993' }, { id: '2' }, { id: '2' }, null]);
  assert.equal(insert!.before, null);
  assert.deepEqual({ ...(insert!.after as object), big: undefined }, {
    id: '9007199254740993', n: '12345678901234567890.0123456789', i: -7, f: 1.5, b: true, t: 'hé "q"', ts: '2026-01-02T03:04:05.123456',
    tstz: '2026-01-02T01:04:05.123456Z', d: '2026-01-02', j: '{"a": 12345678901234567890}', jb: '{"b": [1, 2]}', arr: [1, null, 3], tags: ['a b', 'c'],
    blob: Buffer.from([0, 255]).toString('base64'), u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', mood: 'happy', big: undefined,
  });
  assert.equal((insert!.after as Record<string, unknown>).big, random);
  assert.equal(update!.before, null, 'REPLICA IDENTITY DEFAULT, key unchanged: no old row');
  assert.equal((update!.after as Record<string, unknown>).i, 8);
  assert.equal((update!.after as Record<string, unknown>).big, TOAST_UNAVAILABLE, 'unchanged TOAST value is marked, not null');
  assert.deepEqual(rekey!.before, { id: '9007199254740993' }, 'key change sends the old key');
  assert.deepEqual(del!.before, { id: '2' });
  assert.equal(del!.after, null);
  assert.deepEqual([truncate!.before, truncate!.after], [null, null]);
  const source = insert!.source as Record<string, unknown>;
  assert.equal(source.connector, 'evictd');
  assert.equal(source.schema, 'public');
  assert.equal(source.table, kinds);
  assert.equal(source.db, 'app');
  assert.ok(Number.isInteger(source.txId) && Number.isInteger(source.lsn) && Number.isInteger(source.ts_ms));
  assert.ok(Math.abs((source.ts_ms as number) - Date.now()) < 60_000, 'commit time in ms');
});

test('REPLICA IDENTITY FULL sends the whole old row, and a row keeps one partition', async () => {
  await db.query(`INSERT INTO ${items} VALUES (1, 10, 'a')`);
  await db.query(`UPDATE ${items} SET category_id = 20 WHERE id = 1`);
  await db.query(`DELETE FROM ${items} WHERE id = 1`);
  const events = await eventsFor(items, 3);
  assert.deepEqual(events.map((e) => [e.value!.op, e.value!.before, e.value!.after]), [
    ['c', null, { id: 1, category_id: 10, name: 'a' }],
    ['u', { id: 1, category_id: 10, name: 'a' }, { id: 1, category_id: 20, name: 'a' }],
    ['d', { id: 1, category_id: 20, name: 'a' }, null],
  ]);
  assert.deepEqual(events.map((e) => e.key), [{ id: 1 }, { id: 1 }, { id: 1 }]);
  assert.equal(new Set(events.map((e) => e.partition)).size, 1);
});

test('metrics and health report the published position', async () => {
  await waitFor(async () => {
    const { rows } = await db.query(`SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1`, [ns]);
    return role.health().detail.acknowledgedLsn === rows[0]?.confirmed_flush_lsn && rows[0]?.confirmed_flush_lsn;
  }, { timeoutMs: 20_000, what: 'the acknowledged LSN to show in health and the slot' });
  assert.equal(role.health().ok, true);
  const text = await metrics();
  for (const name of ['evictd_publish_events_total', 'evictd_publish_batch_events_bucket', 'evictd_publish_acknowledged_lsn', 'evictd_publish_replication_lag_bytes', 'evictd_publish_commit_to_kafka_seconds_bucket']) {
    assert.match(text, new RegExp(name), name);
  }
  assert.match(text, /evictd_publish_events_total(\{[^}]*\})? ([8-9]|\d\d+)/);
});
