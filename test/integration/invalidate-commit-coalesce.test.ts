// Commits of chunks that finish faster than an offset commit's round trip are coalesced: a chunk
// whose commit is still queued when a later chunk of its partition finishes is covered by the
// later one and sends nothing. Each queued commit holds its batch (and the fetch buffers its
// messages are views of) until it runs, so sending every one of them let a busy invalidator's
// heap grow without bound (the bench saw 270 MB of heap at 10k single-row txn/s, and an
// out-of-memory abort under a 96 MB cap). The commits are counted on the wire, from kafkajs' own
// request log; the end offset must still be committed exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type logCreator } from 'kafkajs';
import { pino } from 'pino';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { startConsumer } from '../../services/invalidator/src/bus/consumer.js';

const env = stackEnv();
const ns = uniqueName('inv_coalesce');
const topic = `${ns}.events`;
const MESSAGES = 20_000;
const CHUNK = 50;

test('commits of chunks that finish faster than a commit round trip are coalesced, and the end offset is committed', async (t) => {
  const brokers = env.KAFKA_BROKERS.split(',');
  const client = new Kafka({ clientId: ns, brokers, logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = client.producer();
  await producer.connect();
  for (let i = 0; i < MESSAGES; i += 5_000) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 5_000 }, (_, j) => ({ value: String(i + j) })) });
  }
  await producer.disconnect();

  let offsetCommits = 0;
  const counting: logCreator = () => ({ log }) => {
    if (log.message.startsWith('Request OffsetCommit(')) offsetCommits += 1;
  };
  const groupId = `${ns}-group`;
  let handled = 0;
  const consumer = await startConsumer({
    kafka: new Kafka({ clientId: ns, brokers, logLevel: logLevel.DEBUG, logCreator: counting }),
    groupId,
    topics: [topic],
    maxWaitTimeMs: 50,
    sessionTimeoutMs: 10_000,
    logger: pino({ level: 'silent' }),
    maxChunk: CHUNK,
    handle: async (messages) => void (handled += messages.length),
  });
  const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions[0]!.offset;
  try {
    await waitFor(async () => handled >= MESSAGES && (await committed()) === String(MESSAGES), { timeoutMs: 120_000, what: `all ${MESSAGES} messages handled and offset ${MESSAGES} committed` });
  } finally {
    await consumer.stop();
  }
  const chunks = MESSAGES / CHUNK;
  assert.equal(handled, MESSAGES);
  assert.ok(offsetCommits > 0, 'the commits were counted');
  // Sending one commit per chunk is 400 here; coalesced, it is about one per fetched batch.
  assert.ok(offsetCommits <= chunks / 4, `${offsetCommits} offset commits were sent for ${chunks} chunks`);
});
