// kill -9 of the publisher in the middle of 20,000 single-row updates: after a restart every
// update is on Kafka (at least once), and SIGTERM flushes, acknowledges and exits 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { confirmedFlush, dropSlot, publishYaml, readTopics, spawnPublisher, testKafka } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_crash');
const table = `${ns}_rows`;
const ROWS = 50;
const UPDATES = 20_000;
const WRITERS = 4;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
// info: spawnPublisher waits for the "replication session started" line.
const yaml = publishYaml(ns, `  public.${table}: { keys: ["r:{id}"] }`, { logLevel: 'info' });

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, version int NOT NULL)`);
  await db.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(0, ${ROWS - 1}) g`);
});

after(async () => {
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

/** Versions 1..UPDATES, each one committed as its own transaction, spread over a few connections. */
async function writeUpdates(progress: { done: number }): Promise<void> {
  let next = 1;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      await client.query('SET synchronous_commit = off');
      try {
        for (let v = next++; v <= UPDATES; v = next++) {
          await client.query(`UPDATE ${table} SET version = $1 WHERE id = $2`, [v, v % ROWS]);
          progress.done += 1;
        }
      } finally {
        await client.end();
      }
    }),
  );
}

test('kill -9 mid-stream loses no committed update; SIGTERM exits 0 after acknowledging', async (t) => {
  let publisher = await spawnPublisher(env, yaml); // creates the topic
  const reader = await readTopics(testKafka(env), [`${ns}.public.${table}`], ns);
  try {
    const progress = { done: 0 };
    const writing = writeUpdates(progress);
    // Kill while changes are both being written and being published.
    await waitFor(() => reader.messages.length >= 2_000 && progress.done < UPDATES * 0.8, { timeoutMs: 60_000, what: 'publishing under way' });
    publisher.child.kill('SIGKILL');
    await publisher.exited;
    const atKill = { written: progress.done, onKafka: reader.messages.length };
    publisher = await spawnPublisher(env, yaml);
    await writing;

    const versions = () => new Set(reader.messages.map((m) => (m.value?.after as { version?: number } | null)?.version));
    await waitFor(() => versions().size >= UPDATES, { timeoutMs: 120_000, what: `all ${UPDATES} versions on Kafka` }).catch((err: Error) => {
      const seen = versions();
      const missing = Array.from({ length: UPDATES }, (_, i) => i + 1).filter((v) => !seen.has(v));
      throw new Error(`${err.message}; ${missing.length} missing, e.g. ${missing.slice(0, 10).join(', ')}`);
    });
    for (let v = 1; v <= UPDATES; v++) assert.ok(versions().has(v), `version ${v} missing`);
    // Per-row order: a row's last event is its final committed state. Not always its highest
    // version: writers on several connections can commit a row's versions out of number order on a
    // busy machine, so the database says which one is final.
    const byRow = new Map<number, number[]>();
    for (const m of reader.messages) {
      const after = m.value?.after as { id: number; version: number };
      byRow.set(after.id, [...(byRow.get(after.id) ?? []), after.version]);
    }
    assert.equal(byRow.size, ROWS);
    const { rows: finals } = await db.query<{ id: number; version: number }>(`SELECT id, version FROM ${table}`);
    for (const { id, version } of finals) assert.equal(byRow.get(id)?.at(-1), version, `row ${id}: the last event is its final version`);
    t.diagnostic(`killed after ${atKill.written} updates written, ${atKill.onKafka} on Kafka; ${reader.messages.length} events for ${UPDATES} updates (${reader.messages.length - UPDATES} duplicates)`);

    const lastChange = Math.max(...reader.messages.map((m) => (m.value?.source as { lsn: number }).lsn));
    publisher.child.kill('SIGTERM');
    assert.equal(await publisher.exited, 0, publisher.output().slice(-3000));
    assert.ok((await confirmedFlush(db, ns)) > BigInt(lastChange), 'SIGTERM acknowledged past the last change');
  } finally {
    await reader.stop();
    if (publisher.child.exitCode === null) publisher.child.kill('SIGKILL');
  }
});
