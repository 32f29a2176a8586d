// End to end through `evictd publish` and `evictd invalidate` (separate processes) with a Memcached
// target only: committed Postgres changes delete exactly their keys in a real memcached (and bump
// their tags' version keys); a kill -9 of the invalidator while memcached is down loses nothing,
// because the target's group committed nothing memcached had not confirmed; TRUNCATE flushes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startMemcached, type LocalMemcached } from '@evictd/infra';
import { commands, MemcachedConnection } from '../../services/invalidator/src/targets/memcached/client.js';
import { dropPipeline, stackEnv, uniqueName, waitFor } from '../support/index.js';
import { runCli, stopGracefully, writeTempConfig, type CapturedProcess } from '../support/process.js';
import { createProductsTable, productRules, productsTable, publishedCount, spawnInvalidatorProcess, testKafka, waitApplied, waitCommittedToEnd } from './invalidate-helpers.js';
import { spawnPublisher } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('mc_e2e');
const table = productsTable(ns);
const topic = `${ns}.public.${table}`;
const group = `${ns}_group.mc`;
const key = (name: string) => `${ns}:${name}`;
const rowKeys = (id: number) => [key(`product:${id}`), key(`product:${id}:detail`)];
const tagVersion = (category: number) => `tagv:${key(`category:${category}`)}`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const kafka = testKafka(env);
let memcached: LocalMemcached;
let mc: MemcachedConnection;
let publisher: CapturedProcess;
let invalidator: CapturedProcess & { ready: string };

const yaml = () => `
postgres: { slot: ${ns}, publication: ${ns} }
kafka: { topicPrefix: ${ns}, partitions: 3 }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq, sessionTimeoutMs: 6000 }
publish: { lingerMs: 2 }
targets:
  mc: { type: memcached, servers: ["${memcached.address}"], tags: version-keys, timeoutMs: 500 }
http: { port: 0 }
log: { level: info }
tables: ${JSON.stringify(productRules(ns, table))}
`;

const spawnInvalidator = () => spawnInvalidatorProcess(env, yaml());

before(async () => {
  await db.connect();
  await createProductsTable(db, table);
  // Categories 1..3 for rows 1..200; row 500 alone in category 9.
  await db.query(`INSERT INTO ${table} SELECT g, 'p' || g, 1.00, 1 + g % 3, 5 FROM generate_series(1, 200) g`);
  await db.query(`INSERT INTO ${table} VALUES (500, 'p500', 1.00, 9, 5)`);
  memcached = await startMemcached();
  mc = new MemcachedConnection(memcached.address, 5_000);
  publisher = await spawnPublisher(env, yaml());
  invalidator = await spawnInvalidator();
});

after(async () => {
  await stopGracefully(invalidator, publisher);
  mc?.close();
  await memcached?.stop();
  await dropPipeline(db, ns, table);
});

async function set(keys: readonly string[], value = 'cached'): Promise<void> {
  const replies = await mc.request(keys.map((k) => commands.set(k, value)));
  assert.ok(replies.every((r) => r === 'STORED'));
}

/** The keys of `keys` memcached holds, with their values (a fresh connection after a restart). */
async function held(keys: readonly string[]): Promise<Map<string, string>> {
  if (!mc.connected) mc = new MemcachedConnection(memcached.address, 5_000);
  const found = new Map<string, string>();
  for (let i = 0; i < keys.length; i += 100) {
    const [reply] = await mc.request([commands.get(...keys.slice(i, i + 100))]);
    assert.ok(reply instanceof Map);
    for (const [k, v] of reply) found.set(k, v.toString());
  }
  return found;
}

/** A metric of the running invalidator, summed over its series of the mc target. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${invalidator.ready}/metrics`)).text();
  let sum = 0;
  for (const [, labels = '', value] of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (labels.includes('target="mc"')) sum += Number(value);
  return sum;
}

async function health(): Promise<{ down: false | { error: string } } | undefined> {
  const body = (await (await fetch(`${invalidator.ready}/healthz`)).json()) as { detail: { roles: { detail: { targets?: Record<string, { down: false | { error: string } }> } }[] } };
  return body.detail.roles[0]?.detail.targets?.mc;
}

const published = () => publishedCount(kafka, topic);

/** Waits until `count` more events than `since` are on Kafka and the Memcached group committed them all. */
const applied = (since: number, count: number) => waitApplied(kafka, group, topic, since, count, 60_000);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('every committed change deletes its keys in memcached and bumps its tags; nothing else goes', async () => {
  const all = [...range(1, 200), 300, 500];
  await set(all.flatMap(rowKeys));
  await set([1, 2, 3, 9].map(tagVersion), 'v0');
  await set([key('unrelated')]);
  const before = await published();
  for (const id of range(1, 40)) await db.query(`UPDATE ${table} SET name = 'renamed' WHERE id = $1`, [id]);
  await db.query(`UPDATE ${table} SET stock = 0 WHERE id = 60`); // a column the rules do not watch
  await db.query(`DELETE FROM ${table} WHERE id = 70`);
  await db.query(`INSERT INTO ${table} VALUES (300, 'p300', 1.00, 1, 5)`);
  await applied(before, 43);

  const changed = [...range(1, 40), 70, 300];
  const left = await held(all.flatMap(rowKeys));
  assert.deepEqual(changed.flatMap(rowKeys).filter((k) => left.has(k)), [], 'every changed row has its keys deleted');
  const unchanged = all.filter((id) => !changed.includes(id));
  assert.deepEqual(unchanged.flatMap(rowKeys).filter((k) => !left.has(k)), [], 'no key of an unchanged row (nor of row 60, changed in an unwatched column) is deleted');
  const versions = await held([1, 2, 3, 9].map(tagVersion));
  for (const category of [1, 2, 3]) assert.notEqual(versions.get(tagVersion(category)), 'v0', `category ${category} got a new version`);
  assert.equal(versions.get(tagVersion(9)), 'v0', 'a category no change touched keeps its version');
  assert.equal((await held([key('unrelated')])).size, 1);
});

test('kill -9 of the invalidator while memcached is down loses nothing: the restarted one deletes every change', async () => {
  const changed = range(101, 130);
  const controls = range(131, 140);
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Test 1 left the group committed to the end: these are its offsets before the updates.
    const endsBefore = await admin.fetchTopicOffsets(topic);
    const eventsBefore = await metric('evictd_invalidate_events_total');
    await memcached.kill();
    for (const id of changed) await db.query(`UPDATE ${table} SET price = price + 1 WHERE id = $1`, [id]);
    // The first chunk of each partition stays in the target's retries; later ones wait behind it.
    await waitFor(async () => (await metric('evictd_invalidate_events_total')) > eventsBefore, { timeoutMs: 30_000, what: 'the invalidator to hand updates to the target' });
    assert.match(JSON.stringify((await health())?.down), new RegExp(memcached.address), '/healthz names the server that is down');
    // Well after updates were handed to the target (ten more failed attempts), still nothing
    // committed past them: a target that gave up, or a consumer that committed early, shows here.
    const retries = await metric('evictd_invalidate_target_retries_total');
    await waitFor(async () => (await metric('evictd_invalidate_target_retries_total')) >= retries + 10, { timeoutMs: 30_000, what: 'ten more retries against the dead memcached' });
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    for (const end of endsBefore) {
      const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset;
      assert.equal(at, end.offset === '0' ? '-1' : end.offset, `${group} committed partition ${end.partition} past updates memcached never confirmed`);
    }
  } finally {
    await admin.disconnect();
  }

  invalidator.child.kill('SIGKILL');
  await invalidator.exited;
  // memcached back, empty, and the rows cached again before any invalidator runs: only a
  // re-delivery of the uncommitted updates can delete these keys now.
  await memcached.start();
  await set([...changed, ...controls].flatMap(rowKeys));
  invalidator = await spawnInvalidator();
  await waitFor(async () => (await held(changed.flatMap(rowKeys))).size === 0, { timeoutMs: 60_000, what: 'the restarted invalidator to delete every updated row' });
  await waitCommittedToEnd(kafka, group, topic, 60_000);
  assert.equal((await held(controls.flatMap(rowKeys))).size, controls.length * 2, 'rows not updated stay cached');
});

test('kill -9 of the invalidator in the middle of 1,900 single-row updates: every updated row ends deleted, the others stay', async () => {
  const before = await published();
  await db.query(`INSERT INTO ${table} SELECT g, 'p' || g, 1.00, 1 + g % 3, 5 FROM generate_series(1001, 3000) g`);
  await applied(before, 2_000); // the inserts' own deletes are done before the rows are cached
  const updated = range(1001, 2900);
  const controls = range(2901, 3000);
  await set([...updated, ...controls].flatMap(rowKeys));
  const eventsBefore = await metric('evictd_invalidate_events_total');
  const progress = { done: 0 };
  let next = 0;
  // Each row updated once, so a deleted key cannot have been deleted by another update of it.
  const writing = Promise.all(
    Array.from({ length: 4 }, async () => {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      try {
        for (let i = next++; i < updated.length; i = next++) {
          await client.query(`UPDATE ${table} SET name = 'mid' WHERE id = $1`, [updated[i]]);
          progress.done += 1;
        }
      } finally {
        await client.end();
      }
    }),
  );
  try {
    // Kill while updates are both being written and being applied.
    await waitFor(async () => (await metric('evictd_invalidate_events_total')) >= eventsBefore + 200 || progress.done === updated.length, { timeoutMs: 60_000, what: 'invalidation under way' });
    assert.ok(progress.done < updated.length, 'the kill must land while updates are still being written');
    invalidator.child.kill('SIGKILL');
    await invalidator.exited;
    invalidator = await spawnInvalidator();
  } finally {
    await writing;
  }
  await applied(before + 2_000, updated.length);
  const left = await held(updated.flatMap(rowKeys));
  assert.deepEqual(updated.flatMap(rowKeys).filter((k) => left.has(k)), [], 'every updated row has its keys deleted');
  assert.equal((await held(controls.flatMap(rowKeys))).size, controls.length * 2, 'rows not updated stay cached');
});

test('TRUNCATE flushes memcached (flush_all, counted)', async () => {
  await set([key('unrelated'), ...rowKeys(150)]);
  const before = await published();
  await db.query(`TRUNCATE ${table}`);
  await applied(before, 1);
  assert.equal((await held([key('unrelated'), ...rowKeys(150)])).size, 0, 'memcached cannot list a table\'s keys: everything goes');
  const metrics = await (await fetch(`${invalidator.ready}/metrics`)).text();
  assert.match(metrics, /^evictd_memcached_flush_all_total\{target="mc"[^}]*\} 1$/m);
});

test('rules with tags and a memcached target left at tags: refuse: evictd invalidate exits 2 naming the target and the table', async () => {
  const refusing = yaml().replace('tags: version-keys, ', '');
  const { code, output } = await runCli(['invalidate', '--config', writeTempConfig(refusing)], { ...env });
  assert.equal(code, 2, output.slice(-2000));
  assert.match(output, new RegExp(`"level":60.*target mc \\(memcached\\) cannot invalidate tags, and the rules of public\\.${table} in .*targets\\.mc\\.tags: version-keys`));
});
