// Kafka going away under the publisher: it keeps retrying, acknowledges nothing it could not
// deliver, and after the broker is back every committed change is on Kafka.
// Uses a Kafka of its own (the shared one must not be killed) and the run's Postgres.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startStack, type Stack } from '@evictd/infra';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { parseLsn } from '../../services/invalidator/src/cdc/lsn.js';
import { confirmedFlush, dropSlot, publishConfig, readTopics, startPublisher, testKafka } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_kkill');
const table = `${ns}_rows`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
let stack: Stack<'kafka'>;
let role: Role;

before(async () => {
  stack = await startStack({ services: ['kafka'] });
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
  ({ role } = await startPublisher(publishConfig({ ...env, KAFKA_BROKERS: stack.env.KAFKA_BROKERS }, ns, `  public.${table}: { keys: ["r:{id}"] }`)));
});

after(async () => {
  await role?.stop();
  await stack?.stop();
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

async function walLsn(fn: 'pg_current_wal_lsn' | 'pg_current_wal_insert_lsn'): Promise<bigint> {
  const { rows } = await db.query(`SELECT ${fn}()::text AS lsn`);
  return parseLsn(String(rows[0].lsn));
}

async function insert(from: number, to: number): Promise<void> {
  for (let id = from; id <= to; id++) await db.query(`INSERT INTO ${table} VALUES ($1)`, [id]);
}

test('kill -9 of Kafka: nothing is acknowledged while it is down, and everything arrives after it is back', async () => {
  const kafkaEnv = { ...env, KAFKA_BROKERS: stack.env.KAFKA_BROKERS };
  let reader = await readTopics(testKafka(kafkaEnv), [`${ns}.public.${table}`], ns);
  const ids = () => new Set(reader.messages.map((m) => (m.key as { id: number }).id));
  await insert(1, 100);
  await waitFor(() => ids().size === 100, { timeoutMs: 30_000, what: 'the first 100 rows' });
  await reader.stop();
  await stack.kafka.kill();
  // Row 101 in a transaction whose commit lies after `inside`: acknowledging past `inside` while
  // Kafka is down would acknowledge a change that was never delivered.
  await db.query('BEGIN');
  await db.query(`INSERT INTO ${table} VALUES (101)`);
  const inside = await walLsn('pg_current_wal_insert_lsn');
  await db.query('COMMIT');
  await insert(102, 200);
  const written = await walLsn('pg_current_wal_lsn');
  await waitFor(() => parseLsn(String(role.health().detail.receivedLsn)) >= written, { timeoutMs: 30_000, what: 'the publisher to receive the changes' });
  assert.ok((await confirmedFlush(db, ns)) <= inside, 'nothing acknowledged past an undelivered change');
  await stack.kafka.start();
  reader = await readTopics(testKafka(kafkaEnv), [`${ns}.public.${table}`], `${ns}_2`);
  try {
    await insert(201, 300);
    await waitFor(() => ids().size === 300, { timeoutMs: 120_000, what: 'all 300 rows on Kafka after the broker restart' });
    await waitFor(async () => (await confirmedFlush(db, ns)) > inside, { timeoutMs: 30_000, what: 'the slot to move on once delivered' });
  } finally {
    await reader.stop();
  }
});
