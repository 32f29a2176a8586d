/**
 * The raw limits of the parts under evictd, measured in the same run on the same stack, so evictd's
 * figures can be read as a share of what Postgres, Redis and kafkajs manage on their own.
 */
import { spawn } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A temporary logical slot (pgoutput) created before a workload and decoded after it. */
export async function createRawSlot(pool: Pool, slot: string): Promise<void> {
  await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
}

export async function dropRawSlot(pool: Pool, slot: string): Promise<void> {
  await pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
}

/**
 * pg_recvlogical from the slot to /dev/null up to endLsn: the rate at which Postgres decodes and
 * sends the workload over the replication protocol, with nothing downstream.
 */
export async function pgDecodeSeconds(databaseUrl: string, slot: string, publication: string, endLsn: string): Promise<number> {
  const args = [
    '-d', databaseUrl, '--slot', slot, '--start', '--no-loop', '-E', endLsn, '-f', '/dev/null',
    '-o', 'proto_version=1', '-o', `publication_names=${publication}`,
  ];
  const t0 = performance.now();
  await new Promise<void>((resolveRun, reject) => {
    const child = spawn(`${PG_BIN}/pg_recvlogical`, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`pg_recvlogical exited ${code}: ${stderr.trim()}`))));
  });
  return (performance.now() - t0) / 1000;
}

/**
 * UNLINK of `count` existing keys, `keysPerCommand` keys per command and `commandsPerTrip` commands
 * per pipelined round trip (evictd's invalidate.lua also unlinks a batch's keys in multi-key calls):
 * keys per second.
 */
export async function redisUnlinkRate(redis: Redis, count: number, keysPerCommand = 100, commandsPerTrip = 10): Promise<number> {
  const key = (i: number) => `bench:raw:${i}`;
  const perTrip = keysPerCommand * commandsPerTrip;
  for (let i = 0; i < count; i += perTrip) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(i + perTrip, count); j += 1) p.set(key(j), 'x');
    await p.exec();
  }
  const t0 = performance.now();
  for (let i = 0; i < count; i += perTrip) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(i + perTrip, count); j += keysPerCommand) {
      p.unlink(...Array.from({ length: Math.min(keysPerCommand, count - j) }, (_, k) => key(j + k)));
    }
    await p.exec();
  }
  return count / ((performance.now() - t0) / 1000);
}

/**
 * kafkajs alone: sendBatch of `count` messages of `messageBytes` (acks from all replicas, keyed
 * over `partitions` partitions, `batch` per request, idempotent producer like evictd's), then a
 * fresh consumer group reading them back with eachBatch. Messages per second each way; the
 * consumer is timed from its first batch (group join is set-up, not throughput).
 */
export async function kafkaRates(
  brokers: string[],
  topic: string,
  count: number,
  messageBytes: number,
  partitions = 6,
  batch = 5000,
): Promise<{ producePerSec: number; consumePerSec: number; sendRttMs: number[] }> {
  const kafka = new Kafka({ clientId: 'evictd-bench-raw', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const value = Buffer.alloc(messageBytes, 'x');
  const t0 = performance.now();
  for (let i = 0; i < count; i += batch) {
    const messages = Array.from({ length: Math.min(batch, count - i) }, (_, j) => ({ key: `{"id":${i + j}}`, value }));
    await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
  }
  const producePerSec = count / ((performance.now() - t0) / 1000);
  // Round trip of one small acknowledged batch, back to back: the floor under commit -> Kafka ack.
  const sendRttMs: number[] = [];
  for (let i = 0; i < 200; i += 1) {
    const s0 = performance.now();
    await producer.sendBatch({ topicMessages: [{ topic, messages: [{ key: `{"id":${i}}`, value }] }], acks: -1 });
    sendRttMs.push(performance.now() - s0);
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 20 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let first = 0;
  const consumePerSec = await new Promise<number>((done, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch: b }) => {
          if (first === 0) first = performance.now();
          seen += b.messages.length;
          if (seen >= count) done(count / ((performance.now() - first) / 1000));
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return { producePerSec, consumePerSec, sendRttMs };
}
