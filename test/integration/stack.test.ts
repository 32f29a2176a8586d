/**
 * The fault-test handles of the local stack: a crashed (SIGKILL) server comes back on the same
 * port with its data, and stop() leaves neither processes nor the temp dir behind.
 * Uses a stack of its own, so the suite's shared servers are never taken down.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startStack, type Stack } from '@evictd/infra';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { uniqueName } from '../support/index.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack.stop();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

test('postgres: a committed row and a replication slot survive kill -9 and restart on the same port', async () => {
  const name = uniqueName('restart');
  await sql(`create table ${name} (id int primary key)`);
  await sql(`insert into ${name} values (1)`);
  await sql(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [name]);
  const { pid, port } = stack.postgres;

  await stack.postgres.kill();
  assert.equal(stack.postgres.pid, undefined);
  assert.equal(alive(pid!), false);
  await stack.postgres.start();

  assert.equal(stack.postgres.port, port);
  assert.notEqual(stack.postgres.pid, pid);
  assert.deepEqual(await sql(`select id from ${name}`), [{ id: 1 }]);
  assert.deepEqual(await sql('select slot_name from pg_replication_slots where slot_name = $1', [name]), [{ slot_name: name }]);
});

test('kafka: topics and a group offset survive kill -9 and restart on the same port', async () => {
  const topic = uniqueName('restart');
  const kafka = new Kafka({ clientId: topic, brokers: [stack.env.KAFKA_BROKERS], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.setOffsets({ groupId: topic, topic, partitions: [{ partition: 0, offset: '0' }] });
  } finally {
    await admin.disconnect();
  }

  const { pid } = stack.kafka;
  await stack.kafka.kill();
  assert.equal(stack.kafka.running, false);
  assert.equal(alive(pid!), false);
  await stack.kafka.start();

  const again = kafka.admin();
  await again.connect();
  try {
    assert.ok((await again.listTopics()).includes(topic));
    const [offsets] = await again.fetchOffsets({ groupId: topic, topics: [topic] });
    assert.deepEqual(offsets?.partitions, [{ partition: 0, offset: '0', metadata: null }]);
  } finally {
    await again.disconnect();
  }
});

test('redis: a restart empties it (no persistence)', async () => {
  const redis = new Redis(stack.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // the kill below drops the connection on purpose
  const key = uniqueName('restart');
  try {
    await redis.connect();
    await redis.set(key, 'v');
    await stack.redis.kill();
    await stack.redis.start();
    assert.equal(await redis.get(key), null);
  } finally {
    redis.disconnect();
  }
});

test('stop() ends every server process and removes the temp dir', async () => {
  const own = await startStack({ services: ['redis', 'postgres'] });
  const pids = own.servers.map((s) => s.pid!);
  assert.ok(pids.every(alive));
  await own.stop();
  assert.deepEqual(pids.filter(alive), []);
  assert.equal(existsSync(own.dir), false);
});
