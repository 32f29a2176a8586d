// Lost slot: when the slot evictd published from is gone (dropped, or recreated behind its back),
// the publisher says so loudly and publishes a flush event (op t + flush.reason) per table, or,
// with publish.lostSlot: ignore, only says so and streams on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { validateChangeEvent } from '@evictd/schemas';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { dropSlot, publishConfig, readTopics, startPublisher, testKafka } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_lost');
const a = `${ns}_a`;
const b = `${ns}_b`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const config = publishConfig(env, ns, `  public.${a}: { keys: ["a:{id}"] }\n  public.${b}: { keys: ["b:{id}"] }`);
const topics = [`${ns}.public.${a}`, `${ns}.public.${b}`];
// lostSlot: ignore, on a slot and topics of its own.
const nsIgnore = `${ns}_ign`;
const ignoreConfig = publishConfig(env, nsIgnore, `  public.${a}: { keys: ["a:{id}"] }`, { publish: 'lingerMs: 2, lostSlot: ignore', logLevel: 'fatal' });

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${a} (id int PRIMARY KEY)`);
  await db.query(`CREATE TABLE ${b} (id int PRIMARY KEY)`);
});

after(async () => {
  await dropSlot(db, ns);
  await dropSlot(db, nsIgnore);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP PUBLICATION IF EXISTS ${nsIgnore}`);
  await db.query(`DROP TABLE IF EXISTS ${a}, ${b}`);
  await db.end();
});

test('a dropped slot, and a slot recreated while evictd was down, each lead to one flush event per table', async () => {
  let { role } = await startPublisher(config);
  const reader = await readTopics(testKafka(env), topics, ns);
  const flushes = () => reader.messages.filter((m) => m.value?.flush);
  try {
    await db.query(`INSERT INTO ${a} VALUES (1)`);
    await waitFor(() => reader.messages.length >= 1, { timeoutMs: 30_000, what: 'the first event' });
    await role.stop();
    assert.equal(flushes().length, 0, 'no flush on a first start');

    // An admin drops the slot; a change committed now is never decoded.
    await dropSlot(db, ns);
    await db.query(`INSERT INTO ${a} VALUES (2)`);
    let metrics: () => Promise<string>;
    ({ role, metrics } = await startPublisher(config));
    await waitFor(() => flushes().length >= 2, { timeoutMs: 30_000, what: 'a flush event per table' });
    for (const m of flushes()) {
      assert.deepEqual(validateChangeEvent(m.value), []);
      assert.equal(m.key, null);
      assert.equal(m.value!.op, 't');
      assert.deepEqual([m.value!.before, m.value!.after], [null, null]);
      assert.equal((m.value!.flush as { reason: string }).reason, 'lost_slot');
      assert.match(String((m.value!.flush as { lastLsn: string }).lastLsn), /^[0-9A-F]+\/[0-9A-F]+$/);
    }
    assert.deepEqual(flushes().map((m) => (m.value!.source as { table: string }).table).sort(), [a, b]);
    assert.match(await metrics(), /evictd_publish_lost_slot_total(?:\{[^}]*\})? 1/);
    await role.stop();

    // Someone drops and recreates the slot while evictd is down: it exists, but starts past evictd's marker.
    await dropSlot(db, ns);
    await db.query(`INSERT INTO ${b} VALUES (3)`); // WAL moves on: the new slot starts beyond the marker
    await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [ns]);
    ({ role } = await startPublisher(config));
    await waitFor(() => flushes().length >= 4, { timeoutMs: 30_000, what: 'flush events after the slot was recreated externally' });

    // And streaming goes on after a flush.
    await db.query(`INSERT INTO ${b} VALUES (4)`);
    await waitFor(() => reader.messages.some((m) => (m.value?.after as { id?: number } | null)?.id === 4), { timeoutMs: 30_000, what: 'an event after the flush' });
    await role.stop();
  } finally {
    await reader.stop();
    await role.stop();
  }
});

test('lostSlot: ignore counts the lost slot, publishes no flush, and streams the changes after it', async () => {
  let { role } = await startPublisher(ignoreConfig);
  const reader = await readTopics(testKafka(env), [`${nsIgnore}.public.${a}`], nsIgnore);
  const idsSeen = () => reader.messages.map((m) => (m.value?.after as { id?: number } | null)?.id);
  try {
    await db.query(`INSERT INTO ${a} VALUES (101)`);
    await waitFor(() => idsSeen().includes(101), { timeoutMs: 30_000, what: 'the first event' });
    await role.stop();
    await dropSlot(db, nsIgnore);
    await db.query(`INSERT INTO ${a} VALUES (102)`); // never decoded: the slot is gone
    let metrics: () => Promise<string>;
    ({ role, metrics } = await startPublisher(ignoreConfig));
    await db.query(`INSERT INTO ${a} VALUES (103)`);
    await waitFor(() => idsSeen().includes(103), { timeoutMs: 30_000, what: 'the change committed after the restart' });
    assert.match(await metrics(), /evictd_publish_lost_slot_total(?:\{[^}]*\})? 1/, 'the lost slot is counted');
    assert.equal(reader.messages.filter((m) => m.value?.flush).length, 0, 'no flush event with lostSlot: ignore');
    assert.equal(idsSeen().includes(102), false, 'the change made while the slot was gone is lost, as ignore accepts');
  } finally {
    await reader.stop();
    await role.stop();
  }
});
