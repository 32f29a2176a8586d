import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { fromKafkaError, isKafkaRetriable } from './kafka.js';

// kafkajs is CommonJS: its error classes are not visible as named ESM exports.
const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } = kafkajs;

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
