// Postgres going away under the publisher: it reconnects with backoff and resumes from the slot's
// confirmed position, so every change committed before and after the crash reaches Kafka.
// Uses a Postgres of its own (the shared one must not be killed) and the run's Kafka.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startStack, type Stack } from '@evictd/infra';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { publishConfig, readTopics, startPublisher, testKafka } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_pgkill');
const table = `${ns}_rows`;
let stack: Stack<'postgres'>;
let role: Role;

before(async () => {
  stack = await startStack({ services: ['postgres'] });
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
  await db.end();
  ({ role } = await startPublisher(publishConfig({ ...env, DATABASE_URL: stack.env.DATABASE_URL }, ns, `  public.${table}: { keys: ["r:{id}"] }`)));
});

after(async () => {
  await role?.stop();
  await stack?.stop(); // its own server: the slot goes with it
});

async function insert(from: number, to: number): Promise<void> {
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  for (let id = from; id <= to; id++) await db.query(`INSERT INTO ${table} VALUES ($1)`, [id]);
  await db.end();
}

test('kill -9 of Postgres: the publisher reconnects and no committed change is lost', async () => {
  const reader = await readTopics(testKafka(env), [`${ns}.public.${table}`], ns);
  const ids = () => new Set(reader.messages.map((m) => (m.key as { id: number }).id));
  try {
    await insert(1, 200);
    await waitFor(() => ids().size >= 50, { timeoutMs: 30_000, what: 'publishing under way' });
    await stack.postgres.kill();
    await waitFor(() => !role.health().ok, { timeoutMs: 30_000, what: 'health to report the lost connection' });
    await stack.postgres.start();
    await insert(201, 400);
    await waitFor(() => ids().size === 400, { timeoutMs: 90_000, what: 'all 400 rows on Kafka after the restart' });
    await waitFor(() => role.health().ok, { timeoutMs: 30_000, what: 'health to recover' });
    for (let id = 1; id <= 400; id++) assert.ok(ids().has(id), `row ${id} missing`);
  } finally {
    await reader.stop();
  }
});
