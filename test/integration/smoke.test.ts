/** The local stack's three servers do what the rest of the suite relies on. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { dropSlot, stackEnv, uniqueName, waitFor } from '../support/index.js';

const env = stackEnv();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('postgres runs with wal_level=logical', async () => {
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  cleanups.push(() => client.end());
  const { rows } = await client.query<{ wal_level: string }>('show wal_level');
  assert.equal(rows[0]?.wal_level, 'logical');
});

test('kafka: a produced message reaches a consumer group', async () => {
  const topic = uniqueName('smoke');
  const kafka = new Kafka({ clientId: topic, brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });

  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const sent = ['a', 'b', 'c'];
  await producer.send({ topic, acks: -1, messages: sent.map((value) => ({ key: value, value })) });

  const received: string[] = [];
  const consumer = kafka.consumer({ groupId: topic });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
  await waitFor(() => received.length >= sent.length, { timeoutMs: 90_000, what: `3 messages on ${topic}` });
  assert.deepEqual(received.sort(), sent);
});

test('postgres: an INSERT arrives through a pgoutput logical replication slot', async () => {
  const name = uniqueName('smoke');
  const sql = new pg.Client({ connectionString: env.DATABASE_URL });
  await sql.connect();
  cleanups.push(() => sql.end());
  await sql.query(`create table ${name} (id int primary key, label text not null)`);
  await sql.query(`create publication ${name} for table ${name}`);
  await sql.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [name]);
  cleanups.push(async () => {
    await dropSlot(sql, name); // once the walsender has let go of it
    await sql.query(`drop publication ${name}`);
    await sql.query(`drop table ${name}`);
  });

  const inserts: Pgoutput.MessageInsert[] = [];
  const service = new LogicalReplicationService({ connectionString: env.DATABASE_URL }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
  service.on('data', (_lsn: string, message: Pgoutput.Message) => {
    if (message.tag === 'insert') inserts.push(message);
  });
  service.on('error', () => {}); // a failure shows as no insert arriving; stop() below ends the stream
  const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
  const streaming = service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [name] }), name).catch((err: unknown) => err);
  cleanups.push(async () => {
    await service.stop();
    await streaming;
  });
  await started;

  await sql.query(`insert into ${name} (id, label) values (1, 'hello')`);
  await waitFor(() => inserts.length > 0, { timeoutMs: 60_000, what: `the INSERT on slot ${name}` });
  assert.equal(inserts[0]!.relation.name, name);
  assert.deepEqual({ ...inserts[0]!.new }, { id: 1, label: 'hello' }); // the decoder builds null-prototype rows
});

test('redis: SET, GET and UNLINK under a test key prefix', async () => {
  const prefix = `${uniqueName('smoke')}:`;
  const redis = new Redis(env.REDIS_URL, { keyPrefix: prefix });
  cleanups.push(() => redis.quit());
  assert.equal(await redis.set('k', 'v'), 'OK');
  assert.equal(await redis.get('k'), 'v');
  assert.equal(await redis.unlink('k'), 1);
  assert.equal(await redis.get('k'), null);
});
