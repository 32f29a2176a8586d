// The invalidator's consumer against a real Kafka: a batch that takes long (here: held open until
// the test lets it go) must not hold the other partitions. kafkajs fetches again only once every
// batch of its last fetch was handled, so without the hand-off one slow table stalls them all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaMessage } from 'kafkajs';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { startConsumer, type RunningConsumer } from '../../services/invalidator/src/bus/consumer.js';
import { ensureTopics } from '../../services/invalidator/src/bus/topics.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { testKafka } from './invalidate-helpers.js';

const env = stackEnv();
const ns = uniqueName('inv_slow');
const kafka = testKafka(env);
const slowTopic = `${ns}.slow`;
const fastTopic = `${ns}.fast`;
const groupId = `${ns}_group`;
const producer = kafka.producer();
let consumer: RunningConsumer;

let releaseSlow!: () => void;
const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
const handled: Array<{ topic: string; values: string[] }> = [];
let slowEntered!: () => void;
const slowStarted = new Promise<void>((resolve) => (slowEntered = resolve));

before(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [slowTopic, fastTopic], { partitions: 1, replicationFactor: 1 });
  await admin.disconnect();
  await producer.connect();
  consumer = await startConsumer({
    kafka,
    groupId,
    topics: [slowTopic, fastTopic],
    maxWaitTimeMs: 20,
    sessionTimeoutMs: 10_000,
    logger: createLogger('slow-partition-test', process.env.EVICTD_TEST_LOG ?? 'silent'),
    partitionsConsumedConcurrently: 2,
    handle: async (messages: readonly KafkaMessage[], ctx) => {
      if (ctx.topic === slowTopic) {
        slowEntered();
        // Keeps the group membership alive while held, as the Redis retry loop does.
        const beat = setInterval(() => void ctx.heartbeat(), 1_000);
        await slowGate.finally(() => clearInterval(beat));
      }
      handled.push({ topic: ctx.topic, values: messages.map((m) => String(m.value)) });
    },
  });
});

after(async () => {
  releaseSlow();
  await consumer.stop();
  await producer.disconnect();
});

async function committed(topic: string): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets?.partitions[0]?.offset;
  } finally {
    await admin.disconnect();
  }
}

test('while one partition\'s batch is held, later events of another partition are applied and committed', async () => {
  await producer.send({ topic: slowTopic, acks: -1, messages: [{ value: 'slow-1' }] });
  // The slow batch is being handled (held) before the fast events are even produced: they come
  // in a later fetch, which kafkajs would not make while the slow batch holds its fetch loop.
  await slowStarted;
  for (let i = 1; i <= 3; i++) {
    await producer.send({ topic: fastTopic, acks: -1, messages: [{ value: `fast-${i}` }] });
    await waitFor(() => handled.some((h) => h.topic === fastTopic && h.values.includes(`fast-${i}`)), { timeoutMs: 30_000, what: `fast-${i} handled while slow-1 is held` });
  }
  await waitFor(async () => (await committed(fastTopic)) === '3', { timeoutMs: 30_000, what: 'the fast topic committed to its end' });
  assert.equal(handled.some((h) => h.topic === slowTopic), false, 'the slow batch is still held');
  assert.equal(await committed(slowTopic), '-1', 'nothing of the held batch is committed');

  releaseSlow();
  await waitFor(async () => (await committed(slowTopic)) === '1', { timeoutMs: 30_000, what: 'the slow batch committed once released' });
  // The paused partition was resumed: a new event on it flows as usual.
  await producer.send({ topic: slowTopic, acks: -1, messages: [{ value: 'slow-2' }] });
  await waitFor(async () => (await committed(slowTopic)) === '2', { timeoutMs: 30_000, what: 'slow-2 applied after the resume' });
  assert.deepEqual(handled.filter((h) => h.topic === slowTopic).flatMap((h) => h.values), ['slow-1', 'slow-2'], 'in order, each once');
});
