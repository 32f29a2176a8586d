// One transaction of 50,000 row updates through a publisher with a small in-flight budget: it
// arrives whole, and the stream was paused for backpressure on the way (bench/src/publish-1m.ts
// runs the 1M-row version and reports RSS).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { dropSlot, publishConfig, readTopics, startPublisher, testKafka } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_big');
const table = `${ns}_rows`;
const ROWS = 50_000;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
let role: Role;
let metrics: () => Promise<string>;

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`);
  await db.query(`INSERT INTO ${table} SELECT g, 0, repeat('p', 100) FROM generate_series(1, ${ROWS}) g`);
  // 256 kB in flight at most: the 50k events (~15 MB) must pass through many pause/resume cycles.
  ({ role, metrics } = await startPublisher(publishConfig(env, ns, `  public.${table}: { keys: ["r:{id}"] }`, { publish: 'maxInFlightBytes: 262144, maxBatchBytes: 65536' })));
});

after(async () => {
  await role?.stop();
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

test('a 50,000-row transaction arrives whole, under backpressure', async () => {
  const reader = await readTopics(testKafka(env), [`${ns}.public.${table}`], ns);
  try {
    await db.query(`UPDATE ${table} SET v = 1`);
    const ids = () => new Set(reader.messages.filter((m) => (m.value?.after as { v?: number })?.v === 1).map((m) => (m.key as { id: number }).id));
    await waitFor(() => ids().size === ROWS, { timeoutMs: 180_000, intervalMs: 500, what: `${ROWS} distinct rows on Kafka` });
    const txIds = new Set(reader.messages.map((m) => (m.value?.source as { txId: number }).txId));
    assert.equal(txIds.size, 1, 'all from the one transaction');
    const pauses = /evictd_publish_stream_pauses_total(?:\{[^}]*\})? (\d+)/.exec(await metrics());
    assert.ok(Number(pauses?.[1]) > 0, 'reading was paused for backpressure');
  } finally {
    await reader.stop();
  }
});
