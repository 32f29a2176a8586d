// End to end through `evictd publish` and `evictd invalidate` (separate processes) with an HTTP
// target only: a real Varnish (the VCL evictd ships, vmod xkey) in front of an origin of the
// test's own whose responses carry their surrogate keys. Committed Postgres changes purge exactly
// their objects (HIT before, MISS after, every other object still HIT); a kill -9 of the
// invalidator while Varnish refuses purges loses nothing, because the target's group committed
// nothing Varnish had not confirmed; TRUNCATE bans every object its rules can produce.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startVarnish, type LocalVarnish } from '@evictd/infra';
import { dropPipeline, stackEnv, uniqueName, waitFor } from '../support/index.js';
import { stopGracefully, type CapturedProcess } from '../support/process.js';
import { createProductsTable, productRules, productsTable, publishedCount, spawnInvalidatorProcess, testKafka, waitApplied, waitCommittedToEnd } from './invalidate-helpers.js';
import { spawnPublisher } from './publish-helpers.js';

const PURGE_VCL = fileURLToPath(new URL('../../services/invalidator/src/targets/http/evictd-purge.vcl', import.meta.url));
const env = stackEnv();
const ns = uniqueName('http_e2e');
const table = productsTable(ns);
const topic = `${ns}.public.${table}`;
const group = `${ns}_group.edge`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const kafka = testKafka(env);
let origin: Server;
let varnish: LocalVarnish;
let publisher: CapturedProcess;
let invalidator: CapturedProcess & { ready: string };

/**
 * The origin: a product page carries its two cache keys, a category page its category tag (so a
 * change of one product purges that product and its category's page, not the other products).
 */
function surrogateKeys(path: string): string | undefined {
  let m = /^\/products\/(\d+)$/.exec(path);
  if (m) return `${ns}:product:${m[1]} ${ns}:product:${m[1]}:detail`;
  m = /^\/categories\/(\d+)$/.exec(path);
  if (m) return `${ns}:category:${m[1]}`;
  if (path === '/unrelated') return `${ns}:other`;
  return undefined;
}

const vcl = (paused = false) => `vcl 4.1;
${paused ? '' : `include "${PURGE_VCL}";`}
backend default { .host = "127.0.0.1"; .port = "${(origin.address() as AddressInfo).port}"; }
sub vcl_recv {
  ${paused ? 'if (req.method == "PURGE" || req.method == "BAN") { return (synth(503, "purges paused")); }' : ''}
  return (hash);
}
${paused ? 'sub vcl_backend_response { set beresp.http.x-evictd-host = bereq.http.host; set beresp.http.x-evictd-url = bereq.url; }' : ''}
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.x-cache = "HIT"; } else { set resp.http.x-cache = "MISS"; }
}
`;

const yaml = () => `
postgres: { slot: ${ns}, publication: ${ns} }
kafka: { topicPrefix: ${ns}, partitions: 3 }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq, sessionTimeoutMs: 6000 }
publish: { lingerMs: 2 }
targets:
  edge: { type: http, preset: varnish-xkey, baseUrl: "${varnish.url}", timeoutMs: 2000, retry: { minDelayMs: 50, maxDelayMs: 500 } }
http: { port: 0 }
log: { level: info }
tables: ${JSON.stringify(productRules(ns, table))}
`;

const spawnInvalidator = () => spawnInvalidatorProcess(env, yaml());

function get(path: string): Promise<'HIT' | 'MISS'> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: varnish.port, path, headers: { Host: 'shop.test' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(res.headers['x-cache'] === 'HIT' ? 'HIT' : 'MISS') : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    r.on('error', reject);
    r.end();
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const products = (ids: readonly number[]) => ids.map((id) => `/products/${id}`);
const PAGES = [...products([...range(1, 60), 500]), '/categories/1', '/categories/2', '/categories/3', '/categories/9', '/unrelated'];

async function warm(paths: readonly string[]): Promise<void> {
  for (const p of paths) {
    await get(p);
    assert.equal(await get(p), 'HIT', `${p} cached`);
  }
}

/** The pages of `paths` Varnish no longer holds (fetching caches them again). */
async function purged(paths: readonly string[] = PAGES): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) if ((await get(p)) === 'MISS') out.push(p);
  return out;
}

const published = () => publishedCount(kafka, topic);

const applied = (since: number, count: number) => waitApplied(kafka, group, topic, since, count, 60_000);

before(async () => {
  origin = createServer((req, res) => {
    const keys = surrogateKeys(req.url ?? '/');
    if (keys === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'Cache-Control': 'max-age=3600', xkey: keys, 'Content-Type': 'text/plain' }).end(`${req.url} at ${Date.now()}`);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  varnish = await startVarnish({ vcl: vcl() });
  await db.connect();
  await createProductsTable(db, table);
  // Categories 1..3 for rows 1..60; row 500 alone in category 9.
  await db.query(`INSERT INTO ${table} SELECT g, 'p' || g, 1.00, 1 + g % 3, 5 FROM generate_series(1, 60) g`);
  await db.query(`INSERT INTO ${table} VALUES (500, 'p500', 1.00, 9, 5)`);
  publisher = await spawnPublisher(env, yaml());
  invalidator = await spawnInvalidator();
});

after(async () => {
  await stopGracefully(invalidator, publisher);
  await varnish?.stop();
  origin?.close();
  await dropPipeline(db, ns, table);
});

test('every committed change purges its pages in Varnish; every other page stays a HIT', async () => {
  await warm(PAGES);
  const before = await published();
  for (const id of range(1, 10)) await db.query(`UPDATE ${table} SET name = 'renamed' WHERE id = $1`, [id]);
  await db.query(`UPDATE ${table} SET stock = 0 WHERE id = 40`); // a column the rules do not watch
  await db.query(`DELETE FROM ${table} WHERE id = 20`);
  await applied(before, 12);
  assert.deepEqual(await purged(), [...products([...range(1, 10), 20]), '/categories/1', '/categories/2', '/categories/3']);
  const metrics = await (await fetch(`${invalidator.ready}/metrics`)).text();
  assert.match(metrics, /^evictd_http_target_requests_total\{target="edge",op="tags",status="200"[^}]*\} [1-9]/m);
});

test('kill -9 of the invalidator while Varnish refuses purges loses nothing: the restarted one purges every change', async () => {
  await warm(PAGES);
  const changed = range(31, 45);
  varnish.useVcl(vcl(true));
  const before = await published();
  for (const id of changed) await db.query(`UPDATE ${table} SET price = price + 1 WHERE id = $1`, [id]);
  await waitFor(async () => (await published()) >= before + changed.length, { timeoutMs: 30_000, what: 'the updates on Kafka' });
  const health = async () => ((await (await fetch(`${invalidator.ready}/healthz`)).json()) as { detail: { roles: { detail: { targets: Record<string, { down: false | { error: string } }> } }[] } }).detail.roles[0]?.detail.targets.edge;
  await waitFor(async () => (await health())?.down !== false, { timeoutMs: 30_000, what: 'the http target reported down in /healthz' });
  // The first failure is 503, or a keep-alive socket Varnish closed after one: both are retried.
  assert.match(JSON.stringify((await health())?.down), /tags purge PURGE http:\/\/127\.0\.0\.1:\d+\/(: socket hang up| answered 503)/);

  // The group has not committed what Varnish never confirmed.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const behind = ends.filter((e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset !== e.offset);
    assert.ok(behind.length > 0, `${group} must not have committed past the unconfirmed updates: ${JSON.stringify({ ends, committed })}`);
  } finally {
    await admin.disconnect();
  }
  assert.deepEqual(await purged(products(changed)), [], 'nothing purged while Varnish refuses');

  invalidator.child.kill('SIGKILL');
  await invalidator.exited;
  varnish.useVcl(vcl());
  // Only a re-delivery of the uncommitted updates can purge these pages now.
  invalidator = await spawnInvalidator();
  await waitCommittedToEnd(kafka, group, topic, 60_000);
  assert.deepEqual(await purged(), [...products(changed), '/categories/1', '/categories/2', '/categories/3']);
});

test('TRUNCATE bans every page the table\'s rules can produce, nothing else', async () => {
  await warm(PAGES);
  const before = await published();
  await db.query(`TRUNCATE ${table}`);
  await applied(before, 1);
  assert.deepEqual(await purged(), PAGES.filter((p) => p !== '/unrelated'));
  const metrics = await (await fetch(`${invalidator.ready}/metrics`)).text();
  assert.match(metrics, /^evictd_http_target_requests_total\{target="edge",op="shape",status="200"[^}]*\} [1-9]/m);
});
