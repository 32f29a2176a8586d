import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { crashRecovery } from './consumer.js';

type ErrorClass = new (message: string) => Error;

// kafkajs is CommonJS: its error classes are not visible as named ESM exports.
const { KafkaJSConnectionError, KafkaJSGroupCoordinatorNotFound, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } = kafkajs;
// Exported by kafkajs but missing from its type declarations.
const { KafkaJSNoBrokerAvailableError } = kafkajs as unknown as Record<string, ErrorClass>;

test('a crash kafkajs restarts itself is left to it', () => {
  assert.equal(crashRecovery(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), true), 'kafkajs');
});

test('a broker still coming back (no group coordinator yet, no broker) is restarted by evictd, not fatal', () => {
  // What a broker restart produced in the fault run: kafkajs gave up, and the invalidator exited 1.
  assert.equal(crashRecovery(new (KafkaJSGroupCoordinatorNotFound as unknown as ErrorClass)('Failed to find group coordinator'), false), 'evictd');
  assert.equal(crashRecovery(new KafkaJSNoBrokerAvailableError!('No broker available'), false), 'evictd');
});

test('what Kafka will always refuse ends the consumer', () => {
  assert.equal(crashRecovery(new (KafkaJSSASLAuthenticationError as unknown as ErrorClass)('SASL PLAIN authentication failed'), false), 'fatal');
  const denied = new KafkaJSProtocolError('Not authorized to access group');
  Object.assign(denied, { type: 'GROUP_AUTHORIZATION_FAILED' });
  assert.equal(crashRecovery(denied, false), 'fatal');
});
