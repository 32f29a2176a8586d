// The consumer's fetch bounds (bus/consumer.ts: 2 MiB a fetch, 512 KiB a partition) keep its memory
// down but must never stall a partition: a message larger than the per-partition bound (a
// 900 KiB change event, e.g. a wide row with a big text column) still arrives, with the messages
// around it, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { FETCH_MAX_BYTES_PER_PARTITION, startConsumer } from '../../services/invalidator/src/bus/consumer.js';
import { createKafka } from '../../services/invalidator/src/bus/kafka.js';

const env = stackEnv();
const ns = uniqueName('inv_fetch');
const topic = `${ns}.events`;

test('a message larger than the per-partition fetch bound arrives, in order with its neighbours', async () => {
  const brokers = env.KAFKA_BROKERS.split(',');
  const client = new Kafka({ clientId: ns, brokers, logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const big = 'x'.repeat(900 * 1024);
  assert.ok(big.length > FETCH_MAX_BYTES_PER_PARTITION);
  const producer = client.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ value: 'before' }] });
  await producer.send({ topic, acks: -1, messages: [{ value: big }] });
  await producer.send({ topic, acks: -1, messages: [{ value: 'after' }] });
  await producer.disconnect();

  const seen: string[] = [];
  const logger = pino({ level: 'silent' });
  const consumer = await startConsumer({
    kafka: createKafka({ brokers, clientId: ns, topicPrefix: ns, partitions: 1, replicationFactor: 1, ssl: false }, logger),
    groupId: `${ns}-group`,
    topics: [topic],
    maxWaitTimeMs: 50,
    sessionTimeoutMs: 10_000,
    logger,
    handle: async (messages) => void seen.push(...messages.map((m) => (m.value?.length === big.length ? 'big' : String(m.value)))),
  });
  try {
    await waitFor(() => seen.length >= 3, { timeoutMs: 60_000, what: 'the three messages' });
  } finally {
    await consumer.stop();
  }
  assert.deepEqual(seen, ['before', 'big', 'after']);
});
