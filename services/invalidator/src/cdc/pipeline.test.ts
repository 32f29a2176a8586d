import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingMessage } from '../bus/producer.js';
import { Checkpoint } from './checkpoint.js';
import { TransactionDecoder, type PgoutputMessage, type Relation } from './decode.js';
import { Pipeline, confirmDelivered, type EventTag } from './pipeline.js';

const rel = (name: string): Relation => ({
  relationOid: 1,
  schema: 'public',
  name,
  replicaIdentity: 'default',
  columns: [{ name: 'id', flags: 1, typeOid: 23, typeName: null }],
  keyColumns: ['id'],
});
const begin: PgoutputMessage = { tag: 'begin', commitLsn: '0/100', commitTime: 1_000_000n, xid: 7 };
const commit = (end: string): PgoutputMessage => ({ tag: 'commit', commitLsn: null, commitEndLsn: end, commitTime: 1_000_000n });
const insert = (table: string, id: number): PgoutputMessage => ({ tag: 'insert', relation: rel(table), new: { id: String(id) } });

/** A pipeline over an in-memory sink that is "overloaded" once it holds `limit` messages. */
function harness(limit = Infinity) {
  const sent: { message: OutgoingMessage; tag: EventTag }[] = [];
  const acked: bigint[] = [];
  let pauses = 0;
  const checkpoint = new Checkpoint(0x10n, (lsn) => acked.push(lsn));
  checkpoint.allow(1n << 40n);
  const sink = { send: (message: OutgoingMessage, tag: EventTag) => sent.push({ message, tag }), get overloaded() { return sent.length >= limit; } };
  const decoder = new TransactionDecoder({ name: 'evictd', db: 'app', primaryKeys: new Map(), now: () => 5 });
  const pipeline = new Pipeline(decoder, checkpoint, sink, { pause: () => (pauses += 1) }, { topicPrefix: 'evictd', connectSchemas: false, tables: new Set(['public.products']), reply: () => checkpoint.acknowledge() });
  return { sent, acked, checkpoint, pipeline, pauses: () => pauses };
}

test('events reach the sink keyed and topic-named; the commit is acknowledged only after Kafka confirmed them', () => {
  const h = harness();
  h.pipeline.onMessage('0/100', begin);
  h.pipeline.onMessage('0/101', insert('products', 1));
  h.pipeline.onMessage('0/102', insert('others', 2)); // in the publication, not configured: skipped
  h.pipeline.onMessage('0/103', commit('0/200'));
  assert.deepEqual(h.sent.map((s) => [s.message.topic, String(s.message.key)]), [['evictd.public.products', '{"id":1}']]);
  h.pipeline.onKeepalive(0x300n, true);
  assert.deepEqual(h.acked, [0x10n], 'keepalive reply before delivery: the old position');
  confirmDelivered(h.checkpoint, h.sent.map((s) => s.tag));
  h.pipeline.onKeepalive(0x300n, true);
  assert.deepEqual(h.acked, [0x10n, 0x300n], 'delivered and idle: the keepalive WAL end');
});

test('reading pauses once the sink is overloaded, and only once until drained', () => {
  const h = harness(2);
  h.pipeline.onMessage('0/100', begin);
  for (let i = 1; i <= 5; i++) h.pipeline.onMessage(`0/10${i}`, insert('products', i));
  assert.equal(h.pauses(), 1);
  assert.equal(h.pipeline.isPaused, true);
  assert.equal(h.pipeline.drained(), true);
  assert.equal(h.pipeline.drained(), false);
});

test('confirmDelivered reports one run per transaction', () => {
  const h = harness();
  const runs: number[] = [];
  for (const end of ['0/200', '0/300']) {
    h.pipeline.onMessage('0/100', begin);
    h.pipeline.onMessage('0/101', insert('products', 1));
    h.pipeline.onMessage('0/102', insert('products', 2));
    h.pipeline.onMessage('0/103', commit(end));
  }
  confirmDelivered(h.checkpoint, h.sent.map((s) => s.tag), (_tag, n) => runs.push(n));
  assert.deepEqual(runs, [2, 2]);
  assert.equal(h.checkpoint.published, 0x300n);
});
