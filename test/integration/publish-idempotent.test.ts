// Per-partition order and no gaps across broker failures mid-stream (issue #13). The publisher
// sends many small batches (kafkajs' idempotent producer, retrying on its own) while a writer
// commits without pause, and the broker is killed -9, restarted, stopped gracefully and restarted.
// Afterwards every commit must be on Kafka, and in each partition no event may come before an
// event of an earlier commit of that partition that was not on Kafka yet: replays after a failure
// (at least once) repeat what came before, they never let a later event overtake an earlier one.
// Uses a Kafka of its own (the shared one must not be killed) and the run's Postgres.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startStack, type Stack } from '@evictd/infra';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { parseLsn } from '../../services/invalidator/src/cdc/lsn.js';
import { dropSlot, publishConfig, readTopics, startPublisher, testKafka } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_idem');
const table = `${ns}_rows`;
const ROWS = 40;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
let stack: Stack<'kafka'>;
let role: Role;

before(async () => {
  stack = await startStack({ services: ['kafka'] });
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, seq int NOT NULL)`);
  await db.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, ${ROWS}) g`);
  // Small batches and no linger: many produce requests, so the failures land between and inside them.
  const config = publishConfig({ ...env, KAFKA_BROKERS: stack.env.KAFKA_BROKERS }, ns, `  public.${table}: { keys: ["r:{id}"] }`, { publish: 'lingerMs: 0, maxBatchEvents: 25, maxInFlightBytes: 4194304' });
  ({ role } = await startPublisher(config));
});

after(async () => {
  await role?.stop();
  await stack?.stop();
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

/** Commits one single-row transaction after another (commit i sets seq = i on row i % ROWS + 1) until stopped. */
function startWriter() {
  const writer = { committed: 0, stopped: false, done: Promise.resolve() };
  writer.done = (async () => {
    while (!writer.stopped) {
      const seq = writer.committed + 1;
      await db.query(`UPDATE ${table} SET seq = $1 WHERE id = $2`, [seq, (seq % ROWS) + 1]);
      writer.committed = seq;
    }
  })();
  return writer;
}

async function walLsn(): Promise<bigint> {
  const { rows } = await db.query('SELECT pg_current_wal_lsn()::text AS lsn');
  return parseLsn(String(rows[0].lsn));
}

const published = () => parseLsn(String(role.health().detail.publishedLsn));

test('kill -9 and stop of the broker mid-stream: every commit on Kafka, no event ahead of an earlier undelivered one in its partition', async () => {
  const writer = startWriter();
  const more = (n: number, what: string) => {
    const target = writer.committed + n;
    return waitFor(() => writer.committed >= target, { timeoutMs: 120_000, what: `${n} more commits ${what}` });
  };
  const delivered = async (what: string) => {
    const target = await walLsn();
    await waitFor(() => published() >= target, { timeoutMs: 180_000, what: `the publisher to deliver everything ${what}` });
  };
  try {
    await more(300, 'before the first failure');
    await delivered('before the first failure');
    await more(100, 'with batches in flight');
    await stack.kafka.kill();
    await more(300, 'while the broker is dead');
    await stack.kafka.start();
    await more(100, 'while the publisher reconnects');
    await delivered('after the broker came back from kill -9');
    await more(100, 'with batches in flight');
    await stack.kafka.stop();
    await more(300, 'while the broker is stopped');
    await stack.kafka.start();
    await more(200, 'after the graceful restart');
  } finally {
    writer.stopped = true;
    await writer.done;
  }
  await delivered('at the end');
  const total = writer.committed;

  const reader = await readTopics(testKafka({ ...env, KAFKA_BROKERS: stack.env.KAFKA_BROKERS }), [`${ns}.public.${table}`], ns);
  try {
    const seqOf = (m: (typeof reader.messages)[number]) => Number((m.value!.after as { seq: number }).seq);
    await waitFor(() => new Set(reader.messages.map(seqOf)).size >= total, { timeoutMs: 60_000, what: `all ${total} commits read back` });
    const messages = reader.messages.filter((m) => seqOf(m) >= 1);
    const seen = new Set(messages.map(seqOf));
    const gaps = Array.from({ length: total }, (_, i) => i + 1).filter((s) => !seen.has(s));
    assert.deepEqual(gaps, [], 'no commit missing from Kafka');

    // Each row stays on one partition (its key), and commits are per row in seq order.
    const partitionOfRow = new Map<number, number>();
    for (const m of messages) {
      const id = (m.key as { id: number }).id;
      assert.equal(partitionOfRow.get(id) ?? m.partition, m.partition, `row ${id} on one partition`);
      partitionOfRow.set(id, m.partition);
    }
    let replays = 0;
    for (const partition of new Set(messages.map((m) => m.partition))) {
      const log = messages.filter((m) => m.partition === partition).map(seqOf);
      const expected = [...new Set(log)].sort((a, b) => a - b);
      // The smallest commit of this partition not read yet: an event above it would have overtaken it.
      const read = new Set<number>();
      let next = 0;
      for (const [offset, seq] of log.entries()) {
        if (read.has(seq)) replays += 1;
        assert.ok(next === expected.length || seq <= expected[next]!, `partition ${partition}, offset ${offset}: commit ${seq} arrived before commit ${expected[next]}, which was not on Kafka yet`);
        read.add(seq);
        while (next < expected.length && read.has(expected[next]!)) next += 1;
      }
    }
    // Informational: how much the failures made the publisher send again (duplicates are allowed).
    process.stdout.write(`# ${total} commits, ${messages.length} events read back, ${replays} replayed\n`);
  } finally {
    await reader.stop();
  }
});
