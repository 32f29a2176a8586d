import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import kafkajs, { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { KAFKA_RETRY, fromKafkaError, isKafkaRetriable, kafkaClientConfig, pinoLogCreator } from './kafka.js';

// kafkajs is CommonJS: its error classes are not visible as named ESM exports.
const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } = kafkajs;
const silent = pino({ level: 'silent' });
const SECTION: Parameters<typeof kafkaClientConfig>[0] = { brokers: ['127.0.0.1:9092'], clientId: 'test', topicPrefix: 'evictd', partitions: 1, replicationFactor: 1, ssl: false };

test('a broker that cannot be reached is worth waiting for, also after kafkajs gave up retrying', () => {
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  assert.equal(isKafkaRetriable(refused), true);
  assert.equal(isKafkaRetriable(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 })), true);
});

test('authentication, authorization and bad requests are not', () => {
  // Its typings omit the message argument the constructor needs.
  const SaslError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
  assert.equal(isKafkaRetriable(new SaslError('SASL PLAIN authentication failed')), false);
  const denied = new KafkaJSProtocolError({ message: 'Not authorized to access topics', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false } as never);
  assert.equal(isKafkaRetriable(new KafkaJSNumberOfRetriesExceeded(denied, { retryCount: 5, retryTime: 1000 })), false);
  assert.equal(isKafkaRetriable(new Error('bug')), false);
});

test('a failed publish session is retried unless Kafka refuses the credentials or the request', () => {
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  const transient = fromKafkaError(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 }), 'sending change events');
  assert.equal(transient.retriable, true);
  assert.match(transient.message, /^sending change events: /);
  const tooLarge = new KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);
  assert.equal(fromKafkaError(tooLarge, 'sending').retriable, false);
  const SaslError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
  assert.equal(fromKafkaError(new SaslError('SASL PLAIN authentication failed'), 'connecting').retriable, false);
});

test('kafkajs with KAFKA_RETRY tries again at least twice a second and goes on for longer than a broker restart', async (t) => {
  // kafkajs' own retrier (what its clients use) with evictd's settings, on mocked timers.
  const require = createRequire(import.meta.url);
  const createRetry = require('kafkajs/src/retry') as (opts: object) => (fn: (bail: unknown, count: number, retryTime: number) => Promise<unknown>) => Promise<unknown>;
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const waits: number[] = [];
  const outcome = createRetry(kafkaClientConfig(SECTION, silent).retry!)(async (_bail, _count, retryTime) => {
    waits.push(retryTime);
    throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  }).then(() => 'resolved', (err: Error) => err.name);
  for (let i = 0; i < 1_000 && waits.length <= KAFKA_RETRY.retries; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(100);
  }
  assert.equal(await outcome, 'KafkaJSNumberOfRetriesExceeded');
  const gaps = waits.slice(0, -1); // the last attempt's retryTime is never waited
  assert.ok(Math.max(...gaps) <= 600, `kafkajs waited up to ${Math.max(...gaps)} ms between attempts`);
  const total = gaps.reduce((a, b) => a + b, 0);
  assert.ok(total >= 25_000, `kafkajs gave up after ${total} ms of retrying: a broker restart takes longer`);
});

test("kafkajs' warning about bounded producer retries is debug, its other warnings stay warnings", () => {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  const log = pinoLogCreator(logger)(logLevel.INFO);
  log({ namespace: 'Producer', level: logLevel.WARN, label: 'WARN', log: { timestamp: '', logger: 'kafkajs', message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' } });
  log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message: 'Connection error: connect ECONNREFUSED' } });
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [[20, 'Limiting retries for the idempotent producer may invalidate EoS guarantees'], [40, 'Connection error: connect ECONNREFUSED']]);
});
