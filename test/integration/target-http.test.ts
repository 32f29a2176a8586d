// The HTTP purge target against a real Varnish (Debian's varnishd with vmod xkey, started by the
// test with the VCL evictd ships) in front of a small origin of the test's own that tags each
// response with surrogate keys. Every purge is checked by fetching through Varnish: the objects
// it should purge go from HIT to MISS (the origin is asked again), every other object stays HIT.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { startVarnish, type LocalVarnish } from '@evictd/infra';
import { waitFor } from '../support/index.js';
import { parseConfig } from '../../services/invalidator/src/config/load.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { createHttpTarget } from '../../services/invalidator/src/targets/http/index.js';
import type { HttpTargetSettings } from '../../services/invalidator/src/targets/http/settings.js';
import type { ApplyContext, Target } from '../../services/invalidator/src/targets/target.js';
import type { BatchInvalidation } from '../../services/invalidator/src/redis/batch.js';

const PURGE_VCL = fileURLToPath(new URL('../../services/invalidator/src/targets/http/evictd-purge.vcl', import.meta.url));

/** Surrogate keys per origin path (the xkey header the origin sends). */
const TAGS: Record<string, string> = {
  '/products/1': 'product:1 category:1',
  '/products/2': 'product:2 category:1',
  '/products/3': 'product:3 category:2',
  '/products/4': 'product:4 category:2 product:4:detail',
  '/products/10': 'product:10:detail',
  '/sku/dot': 'sku:a.b',
  '/sku/other': 'sku:aXb',
  '/users/1': 'user:1',
  '/pages/a': '',
  '/pages/b': '',
};
const PATHS = Object.keys(TAGS);

let origin: Server;
let varnish: LocalVarnish;
const originHits = new Map<string, number>();

function vcl(originPort: number, maintenance = false): string {
  return `vcl 4.1;
${maintenance ? '' : `include "${PURGE_VCL}";`}
import std;
backend default { .host = "127.0.0.1"; .port = "${originPort}"; }
sub vcl_recv {
  ${maintenance ? 'if (req.method == "PURGE" || req.method == "BAN") { return (synth(503, "purges paused")); }' : ''}
  return (hash);
}
${maintenance ? 'sub vcl_backend_response { set beresp.http.x-evictd-host = bereq.http.host; set beresp.http.x-evictd-url = bereq.url; }' : ''}
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.x-cache = "HIT"; } else { set resp.http.x-cache = "MISS"; }
}
`;
}

/** GET through Varnish; HIT or MISS as Varnish saw it. */
function get(path: string, host = 'shop.test'): Promise<'HIT' | 'MISS'> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: varnish.port, path, headers: { Host: host } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: ${res.statusCode}`));
        resolve(res.headers['x-cache'] === 'HIT' ? 'HIT' : 'MISS');
      });
    });
    r.on('error', reject);
    r.end();
  });
}

/** Every path cached: fetched until Varnish answers HIT. */
async function warmAll(): Promise<void> {
  for (const p of PATHS) {
    await get(p);
    assert.equal(await get(p), 'HIT', `${p} cached`);
  }
}

/** Which paths are no longer cached (each fetch caches it again). */
async function missing(): Promise<string[]> {
  const out: string[] = [];
  for (const p of PATHS) if ((await get(p)) === 'MISS') out.push(p);
  return out;
}

const stop = new AbortController();
const targets: Target[] = [];
/** A target from a config entry, through the config loader (schema defaults, validation). */
async function target(spec: string): Promise<Target> {
  const config = parseConfig(
    `postgres: { url: postgres://u@127.0.0.1:5/app }\nkafka: { brokers: ["127.0.0.1:9092"] }\ntables:\n  public.p: { keys: ["product:{id}"] }\ntargets:\n  edge: ${spec}\n`,
    '/test.yaml',
  );
  const t = await createHttpTarget(config.targets.edge as HttpTargetSettings, 'edge', { config, logger: createLogger('test', 'silent'), registry: new Registry(), signal: stop.signal });
  targets.push(t);
  return t;
}

function applyContext(signal = new AbortController().signal) {
  const retries: unknown[] = [];
  const ctx: ApplyContext = { signal, onRetry: (err) => retries.push(err), onProgress: () => {} };
  return { ctx, retries };
}

const batch = (b: Partial<BatchInvalidation>): BatchInvalidation => ({ keys: [], tags: [], keyShapes: [], tagShapes: [], ...b });

before(async () => {
  origin = createServer((req, res) => {
    const path = req.url ?? '/';
    originHits.set(path, (originHits.get(path) ?? 0) + 1);
    const tags = TAGS[path];
    if (tags === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Cache-Control': 'max-age=3600', ...(tags ? { xkey: tags } : {}), 'Content-Type': 'text/plain' });
    res.end(`${path} v${originHits.get(path)}`);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  varnish = await startVarnish({ vcl: vcl((origin.address() as AddressInfo).port) });
});

beforeEach(async () => {
  // Start every test from an empty cache: ban everything, then warm.
  varnish.admin('ban', 'obj.status', '!=', '0');
  await warmAll();
});

after(async () => {
  stop.abort();
  for (const t of targets) await t.stop();
  await varnish?.stop();
  origin?.close();
});

test('varnish-xkey: a batch purges exactly the objects tagged with its tags and keys', async () => {
  const edge = await target(`{ type: http, preset: varnish-xkey, baseUrl: "${varnish.url}" }`);
  const { ctx, retries } = applyContext();
  const outcome = await edge.apply(batch({ tags: ['category:1'], keys: ['product:3'] }), ctx);
  assert.deepEqual(outcome, { items: 2, requests: 1 });
  assert.deepEqual(await missing(), ['/products/1', '/products/2', '/products/3']);
  assert.equal(retries.length, 0);
  assert.equal(edge.down(), null);
});

test('varnish-xkey: more tags than maxPerRequest go in several requests, all confirmed', async () => {
  const edge = await target(`{ type: http, preset: varnish-xkey, baseUrl: "${varnish.url}", requests: { tags: { maxPerRequest: 2 } } }`);
  const outcome = await edge.apply(batch({ tags: ['product:1', 'nothing:here', 'product:4:detail', 'user:1', 'category:9'] }), applyContext().ctx);
  assert.deepEqual(outcome, { items: 5, requests: 3 });
  assert.deepEqual(await missing(), ['/products/1', '/products/4', '/users/1']);
});

test('shapes: a tag shape bans every object whose surrogate key the pattern matches, and only those', async () => {
  const edge = await target(`{ type: http, preset: varnish-xkey, baseUrl: "${varnish.url}" }`);
  // product:*:detail (from the template product:{id}:detail) must not take product:1 or product:3.
  await edge.apply(batch({ keyShapes: ['product:*:detail'] }), applyContext().ctx);
  assert.deepEqual(await missing(), ['/products/4', '/products/10']);
  await edge.apply(batch({ tagShapes: ['category:*'] }), applyContext().ctx);
  assert.deepEqual(await missing(), ['/products/1', '/products/2', '/products/3', '/products/4']);
});

test('varnish-ban: tags by one ban each request; regex characters in tags are literal', async () => {
  const edge = await target(`{ type: http, preset: varnish-ban, baseUrl: "${varnish.url}" }`);
  await edge.apply(batch({ tags: ['sku:a.b', 'user:1'] }), applyContext().ctx);
  assert.deepEqual(await missing(), ['/sku/dot', '/users/1']);
});

test('keyUrls: mapped keys purge their URL on the site\'s host; a key shape bans every URL of the mapping', async () => {
  const edge = await target(`{ type: http, preset: varnish-xkey, baseUrl: "${varnish.url}", keyUrls: [{ prefix: "page:", url: "http://shop.test/pages/{{suffix}}" }] }`);
  await get('/pages/a', 'other.test');
  assert.equal(await get('/pages/a', 'other.test'), 'HIT');
  await edge.apply(batch({ keys: ['page:a'] }), applyContext().ctx);
  assert.deepEqual(await missing(), ['/pages/a']);
  assert.equal(await get('/pages/a', 'other.test'), 'HIT', 'same path on another host stays');
  await edge.apply(batch({ keyShapes: ['page:*'] }), applyContext().ctx);
  assert.deepEqual(await missing(), ['/pages/a', '/pages/b']);
  assert.equal(await get('/pages/a', 'other.test'), 'HIT', 'the URL ban is for the mapping\'s host only');
});

test('a Varnish that refuses purges (503): apply retries, reports the outage, and purges once Varnish takes them again', async () => {
  const edge = await target(`{ type: http, preset: varnish-xkey, baseUrl: "${varnish.url}", retry: { minDelayMs: 20, maxDelayMs: 100 } }`);
  varnish.useVcl(vcl((origin.address() as AddressInfo).port, true));
  const { ctx, retries } = applyContext();
  let settled = false;
  const applying = edge.apply(batch({ tags: ['category:2'] }), ctx);
  applying.then(() => (settled = true), () => (settled = true));
  // Varnish closes the connection after its 503: a reused keep-alive socket may fail first ("socket hang up"), retried the same way.
  await waitFor(() => retries.filter((e) => /answered 503/.test(String(e))).length >= 2, { timeoutMs: 20_000, what: 'two attempts answered 503, retried' });
  assert.equal(settled, false, 'apply waits for a confirmed purge');
  assert.match(edge.down()?.error ?? '', /target edge: tags purge PURGE http:\/\/127\.0\.0\.1:\d+\/(: socket hang up| answered 503)/);
  assert.equal(await get('/products/3'), 'HIT', 'nothing purged yet');
  varnish.useVcl(vcl((origin.address() as AddressInfo).port));
  await applying;
  assert.equal(edge.down(), null);
  assert.deepEqual(await missing(), ['/products/3', '/products/4']);
});

test('apply gives up when its signal aborts, and says the batch stays uncommitted', async () => {
  const edge = await target(`{ type: http, preset: varnish-xkey, baseUrl: "http://127.0.0.1:1", retry: { minDelayMs: 20, maxDelayMs: 50 } }`);
  const abort = new AbortController();
  const { ctx, retries } = applyContext(abort.signal);
  const applying = edge.apply(batch({ tags: ['x'] }), ctx);
  await waitFor(() => retries.length >= 2, { timeoutMs: 10_000, what: 'retries against a closed port' });
  assert.ok(edge.down() !== null);
  abort.abort();
  await assert.rejects(applying, /abandoned: the consumer stopped/);
});
