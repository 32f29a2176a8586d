// An idle published table while an unpublished table is written heavily: the slot must still
// advance (keepalive WAL end acknowledged when nothing is in flight), or it would retain WAL forever.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { parseLsn } from '../../services/invalidator/src/cdc/lsn.js';
import { confirmedFlush, dropSlot, publishConfig, startPublisher } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_idle');
const idle = `${ns}_idle`;
const busy = `${ns}_busy`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
let role: Role;

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${idle} (id int PRIMARY KEY)`);
  await db.query(`CREATE TABLE ${busy} (id serial PRIMARY KEY, pad text)`);
  ({ role } = await startPublisher(publishConfig(env, ns, `  public.${idle}: { keys: ["i:{id}"] }`)));
});

after(async () => {
  await role?.stop();
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${idle}, ${busy}`);
  await db.end();
});

const walLsn = async () => {
  const { rows } = await db.query('SELECT pg_current_wal_lsn()::text AS lsn');
  return parseLsn(String(rows[0].lsn));
};

test('confirmed_flush_lsn follows WAL written only to unpublished tables', async () => {
  const before = await confirmedFlush(db, ns);
  for (let i = 0; i < 20; i++) await db.query(`INSERT INTO ${busy} (pad) SELECT repeat('x', 200) FROM generate_series(1, 500)`);
  const written = await walLsn();
  assert.ok(written > before);
  await waitFor(async () => (await confirmedFlush(db, ns)) >= written, { timeoutMs: 60_000, what: 'the idle slot to move past the busy table\'s WAL' });
  assert.equal(role.health().ok, true);
});
