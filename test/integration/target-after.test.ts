// An HTTP cache in front of an app that reads through Redis (Varnish -> origin -> Redis ->
// Postgres, as in the demo): the edge target must not purge Varnish before the Redis target
// deleted the key, or a request in between caches the old value Redis still serves, for the edge
// TTL. Redis is held back with CLIENT PAUSE WRITE on a Redis private to this file (reads go on,
// so the origin serves and the test sees what Redis holds; the invalidator's scripts wait). With
// the default (`after` the redis target) Varnish keeps the page until Redis deleted, and the
// page fetched after the purge is the new value; with `after: none` the purge comes first and
// Varnish caches the old value again. Last, the cross-process path: the gate frees a chunk only
// once another group's committed offset on Kafka passes it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, guardChild, startVarnish, type LocalVarnish } from '@evictd/infra';
import { parseConfig } from '../../services/invalidator/src/config/index.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { createUpstreamGate, kafkaCommittedOffsets } from '../../services/invalidator/src/targets/order/index.js';
import { dropPipeline, stackEnv, uniqueName, waitFor } from '../support/index.js';
import { stopGracefully } from '../support/process.js';
import { createProductsTable, productRules, productsTable, publishedCount, startInvalidator, testKafka, waitCommittedToEnd } from './invalidate-helpers.js';
import { spawnPublisher, type PublisherProcess } from './publish-helpers.js';

const PURGE_VCL = fileURLToPath(new URL('../../services/invalidator/src/targets/http/evictd-purge.vcl', import.meta.url));
const env = stackEnv();
const ns = uniqueName('after');
const table = productsTable(ns);
const topic = `${ns}.public.${table}`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const kafka = testKafka(env);
const key = (id: number) => `${ns}:product:${id}`;
let redisPort: number;
let redisServer: ChildProcess;
let redis: Redis;
let origin: Server;
let varnish: LocalVarnish;
let publisher: PublisherProcess;
let invalidator: { role: Role; metrics: () => Promise<string> } | undefined;

/** The app: a product page is what Redis holds for it, else the row (no fill), labelled with its keys. */
async function page(id: number): Promise<string> {
  const cached = await redis.get(key(id));
  if (cached !== null) return `redis:${cached}`;
  const { rows } = await db.query<{ name: string }>(`SELECT name FROM ${table} WHERE id = $1`, [id]);
  return `db:${rows[0]?.name ?? 'none'}`;
}

const yaml = (group: string, edge: string, level = 'silent') => `
postgres: { slot: ${ns}, publication: ${ns} }
kafka: { topicPrefix: ${ns}, partitions: 3 }
redis: { keyPrefix: "${ns}:" }
invalidate: { groupId: ${group}, deadLetterTopic: ${ns}.dlq, sessionTimeoutMs: 6000 }
publish: { lingerMs: 2 }
targets:
  redis: { type: redis }
  edge: { type: http, preset: varnish-xkey, baseUrl: "${varnish.url}", timeoutMs: 2000, retry: { minDelayMs: 50, maxDelayMs: 500 }${edge} }
log: { level: ${level} }
tables: ${JSON.stringify(productRules(ns, table))}
`;

async function startRole(group: string, edge = ''): Promise<{ role: Role; metrics: () => Promise<string> }> {
  invalidator = await startInvalidator(parseConfig(yaml(group, edge), `/tmp/${ns}.yaml`, { ...env, REDIS_URL: `redis://127.0.0.1:${redisPort}` } as unknown as NodeJS.ProcessEnv));
  return invalidator;
}

function get(path: string): Promise<{ cache: 'HIT' | 'MISS'; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: varnish.port, path, headers: { Host: 'shop.test' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve({ cache: res.headers['x-cache'] === 'HIT' ? 'HIT' : 'MISS', body }) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    r.on('error', reject);
    r.end();
  });
}

/** Row `id` cached in Redis as `value` and its page in Varnish (a HIT showing it). */
async function cached(id: number, value: string): Promise<void> {
  await redis.set(key(id), value);
  await get(`/products/${id}`);
  assert.deepEqual(await get(`/products/${id}`), { cache: 'HIT', body: `redis:${value}` });
}

/** Redis refuses every write (the invalidator's scripts wait, unanswered) but still serves reads. */
const holdRedis = () => redis.call('CLIENT', 'PAUSE', '300000', 'WRITE');
const releaseRedis = () => redis.call('CLIENT', 'UNPAUSE');

/** Commits the rename of row `id` and waits until its change event is on Kafka. */
async function rename(id: number, name: string): Promise<void> {
  const before = await publishedCount(kafka, topic);
  await db.query(`UPDATE ${table} SET name = $2 WHERE id = $1`, [id, name]);
  await waitFor(async () => (await publishedCount(kafka, topic)) > before, { timeoutMs: 30_000, what: `the rename of row ${id} on Kafka` });
}

type EdgeHealth = { after: string | null; waitingFor: false | { target: string; sinceMs: number } };
const edgeHealth = (role: Role) => (role.health().detail.targets as Record<string, EdgeHealth>).edge;

/** Sum and count of a histogram of the invalidator's metrics for one target. */
function histogram(metrics: string, name: string, target: string): { sum: number; count: number } {
  const value = (suffix: string) => Number(new RegExp(`^${name}_${suffix}\\{target="${target}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  return { sum: value('sum'), count: value('count') };
}

/** Mean in ms of what a histogram observed between two scrapes. */
function meanMsBetween(before: string, after: string, name: string, target: string): string {
  const a = histogram(before, name, target);
  const b = histogram(after, name, target);
  return (((b.sum - a.sum) / (b.count - a.count)) * 1000).toFixed(1);
}

before(async () => {
  redisPort = await freePort();
  redisServer = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  guardChild(redisServer);
  redis = new Redis({ port: redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  await waitFor(async () => (await redis.ping().catch(() => null)) === 'PONG', { timeoutMs: 20_000, what: 'the private redis-server answering' });
  origin = createServer((req, res) => {
    const id = /^\/products\/(\d+)$/.exec(req.url ?? '')?.[1];
    if (id === undefined) return void res.writeHead(404).end();
    page(Number(id)).then(
      (body) => res.writeHead(200, { 'Cache-Control': 'max-age=3600', xkey: `${key(Number(id))} ${key(Number(id))}:detail`, 'Content-Type': 'text/plain' }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  varnish = await startVarnish({ vcl: `vcl 4.1;
include "${PURGE_VCL}";
backend default { .host = "127.0.0.1"; .port = "${(origin.address() as AddressInfo).port}"; }
sub vcl_recv { return (hash); }
sub vcl_deliver { if (obj.hits > 0) { set resp.http.x-cache = "HIT"; } else { set resp.http.x-cache = "MISS"; } }
` });
  await db.connect();
  await createProductsTable(db, table);
  await db.query(`INSERT INTO ${table} SELECT g, 'p' || g, 1.00, 1, 5 FROM generate_series(1, 40) g`);
  // The publisher's readiness is read from its log.
  publisher = await spawnPublisher(env, yaml(`${ns}_group`, '', 'info'));
});

after(async () => {
  await releaseRedis().catch(() => undefined);
  await invalidator?.role.stop();
  await stopGracefully(publisher);
  await varnish?.stop();
  origin?.close();
  await dropPipeline(db, ns, table);
  redis.disconnect();
  redisServer.kill('SIGKILL');
});

test('by default the edge waits for Redis: the page stays cached while Redis holds the old value, and is purged only after Redis deleted it', async (t) => {
  const { role, metrics } = await startRole(`${ns}_group`);
  assert.equal(edgeHealth(role)?.after, 'redis');
  await cached(1, 'old');
  await holdRedis();
  await rename(1, 'new');
  // The edge received the change and waits for the redis target's group (shown after 5 s).
  await waitFor(() => edgeHealth(role)?.waitingFor !== false, { timeoutMs: 60_000, what: 'the edge target waiting for redis in /healthz' });
  const waiting = edgeHealth(role)?.waitingFor;
  assert.ok(waiting && waiting.target === 'redis' && waiting.sinceMs >= 5_000, JSON.stringify(waiting));
  assert.equal(role.health().ok, true, 'waiting for another target is not a fault of the edge');
  assert.equal(await redis.get(key(1)), 'old', 'Redis still holds the old value');
  assert.deepEqual(await get('/products/1'), { cache: 'HIT', body: 'redis:old' }, 'Varnish not purged while Redis has not deleted');

  await releaseRedis();
  // The purge comes after the deletion: the first MISS reads past Redis, from the database.
  const purged = await waitFor(async () => {
    const r = await get('/products/1');
    return r.cache === 'MISS' && r;
  }, { timeoutMs: 60_000, what: 'the page purged once Redis confirmed' });
  assert.equal(purged.body, 'db:new', 'the page Varnish caches after the purge is the new value');
  assert.equal(await redis.exists(key(1)), 0);
  await waitFor(() => edgeHealth(role)?.waitingFor === false, { timeoutMs: 10_000, what: 'the edge no longer waiting' });

  // What the order costs when nothing is held (reported, not asserted: timings on a shared machine).
  for (let id = 11; id <= 30; id++) await cached(id, 'before');
  const before = await metrics();
  for (let id = 11; id <= 30; id++) await rename(id, `renamed-${id}`);
  await waitCommittedToEnd(kafka, `${ns}_group.edge`, topic, 60_000);
  const text = await metrics();
  const lag = (target: string) => meanMsBetween(before, text, 'evictd_invalidate_commit_to_delete_seconds', target);
  t.diagnostic(`20 renames, mean commit -> confirmed: redis ${lag('redis')} ms, edge ${lag('edge')} ms; edge's mean wait for redis ${meanMsBetween(before, text, 'evictd_invalidate_target_wait_seconds', 'edge')} ms`);
  assert.match(text, /^evictd_invalidate_target_wait_seconds_count\{target="edge"\} [1-9]/m);
  await role.stop();
  invalidator = undefined;
});

test('after: none keeps the targets independent: Varnish is purged while Redis still holds the old value, and caches it again', async () => {
  // New groups, so they start from the beginning: caught up first.
  const { role } = await startRole(`${ns}_none`, ', after: none');
  assert.equal(edgeHealth(role)?.after, null);
  await waitCommittedToEnd(kafka, `${ns}_none`, topic, 60_000);
  await waitCommittedToEnd(kafka, `${ns}_none.edge`, topic, 60_000);
  await cached(2, 'old');
  await holdRedis();
  await rename(2, 'new');
  const purged = await waitFor(async () => {
    const r = await get('/products/2');
    return r.cache === 'MISS' && r;
  }, { timeoutMs: 60_000, what: 'the page purged with Redis held' });
  // The race `after` closes: the request after the purge read the old value from Redis.
  assert.equal(purged.body, 'redis:old');
  assert.deepEqual(await get('/products/2'), { cache: 'HIT', body: 'redis:old' }, 'Varnish holds the stale page again');
  await releaseRedis();
  await waitFor(async () => (await redis.exists(key(2))) === 0, { timeoutMs: 30_000, what: 'Redis deleting once released' });
  await role.stop();
  invalidator = undefined;
});

test('across processes: a waiting chunk goes on only once the upstream group committed past it on Kafka', async () => {
  const group = `${ns}_elsewhere`;
  const gate = createUpstreamGate({ offsets: kafkaCommittedOffsets(kafka), logger: createLogger('test', 'silent'), intervalMs: 20 });
  const admin = kafka.admin();
  await admin.connect();
  try {
    let polls = 0;
    let done = false;
    const wait = gate.wait({ groupId: group, topic, partition: 0 }, 5n, { signal: new AbortController().signal, onPoll: () => (polls += 1) }).then(() => (done = true));
    // Offset 4 is the chunk's last: committed 4 means the upstream still has to confirm it.
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '4' }] });
    const seen = polls;
    await waitFor(() => polls >= seen + 3, { timeoutMs: 30_000, what: 'three polls after the commit of offset 4' });
    assert.equal(done, false, 'not past the chunk yet');
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '5' }] });
    await wait;
  } finally {
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    await gate.stop();
  }
});
