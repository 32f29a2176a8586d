import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../config/load.js';
import { compilePlan, globMayStartWith, globToRegexBody, tokenRegex } from './plan.js';
import type { HttpTargetSettings } from './settings.js';

const base = `
postgres: { url: postgres://u@127.0.0.1:5/app }
kafka: { brokers: ["127.0.0.1:9092"] }
tables:
  public.products:
    keys: ["product:{id}"]
`;

/** Settings as the config loader hands them over (schema defaults applied). */
function settings(target: string): HttpTargetSettings {
  const config = parseConfig(`${base}targets:\n  edge: ${target}\n`, '/x.yaml');
  return config.targets.edge as HttpTargetSettings;
}

const empty = { keys: [], tags: [], keyShapes: [], tagShapes: [] };

test('defaults: keys go as surrogate keys, 4 in flight, 10 s timeout', () => {
  const s = settings('{ type: http, preset: varnish-xkey, baseUrl: "http://127.0.0.1:6081" }');
  assert.equal(s.keysAsTags, true);
  assert.equal(s.concurrency, 4);
  assert.equal(s.timeoutMs, 10_000);
  assert.deepEqual(s.retry, { minDelayMs: 200, maxDelayMs: 10_000 });
  assert.equal(s.groupId, 'evictd-cache.edge');
});

test('varnish-xkey: tags and unmapped keys in one PURGE, batched by maxPerRequest', () => {
  const plan = compilePlan(settings('{ type: http, preset: varnish-xkey, baseUrl: "http://v:6081/", requests: { tags: { maxPerRequest: 2 } } }'), 'edge');
  const reqs = plan.requests({ ...empty, keys: ['product:1'], tags: ['category:1', 'category:2'] });
  assert.deepEqual(
    reqs.map((r) => [r.method, r.url, r.headers['xkey-purge']]),
    [
      ['PURGE', 'http://v:6081/', 'category:1 category:2'],
      ['PURGE', 'http://v:6081/', 'product:1'],
    ],
  );
});

test('keysAsTags false: unmapped keys are not this cache\'s; mapped keys go by URL with the Host header', () => {
  const plan = compilePlan(
    settings('{ type: http, preset: varnish-xkey, baseUrl: "http://v:6081", keysAsTags: false, keyUrls: [{ prefix: "page:", url: "https://shop.example/p/{{suffix}}?v=1" }] }'),
    'edge',
  );
  const reqs = plan.requests({ ...empty, keys: ['product:1', 'page:a b'] });
  assert.deepEqual(reqs.map((r) => [r.op, r.method, r.url, r.headers.Host]), [['urls', 'PURGE', 'http://v:6081/p/a%20b?v=1', 'shop.example']]);
});

test('shapes: a tag shape becomes a regex over whole surrogate keys; a key shape its keyUrls entry covers bans every URL the entry makes instead', () => {
  const plan = compilePlan(settings('{ type: http, preset: varnish-xkey, baseUrl: "http://v", keyUrls: [{ prefix: "page:", url: "http://shop.example/p/{{suffix}}" }] }'), 'edge');
  const reqs = plan.requests({ ...empty, tagShapes: ['category:*'], keyShapes: ['page:*', 'product:*:detail'] });
  assert.deepEqual(
    reqs.map((r) => [r.op, r.headers['xkey-ban'] ?? `${r.headers['url-ban-host']} ${r.headers['url-ban']}`]),
    [
      ['shape', '(^|[[:space:],])(category:[^[:space:],]*)([[:space:],]|$)'],
      ['shape', '(^|[[:space:],])(product:[^[:space:],]*:detail)([[:space:],]|$)'],
      ['urlShape', 'shop.example ^\\/p\\/.*$'],
    ],
  );
});

test('glob regexes match what the glob matches and nothing else', () => {
  const re = new RegExp(tokenRegex([globToRegexBody('product:*:detail', '[^\\s,]')]).replaceAll('[:space:]', '\\s'));
  assert.ok(re.test('category:1 product:12:detail'));
  assert.ok(!re.test('product:12'));
  assert.ok(!re.test('xproduct:1:detail'));
  assert.ok(!re.test('product:1 x:detail'));
  const literal = new RegExp(tokenRegex([globToRegexBody('sku:a\\*.b', '.')]));
  assert.ok(literal.test('sku:a*.b'));
  assert.ok(!literal.test('sku:aX.b') && !literal.test('sku:a*Xb'));
  assert.ok(globMayStartWith('page:*', 'page:'));
  assert.ok(globMayStartWith('*:x', 'page:'));
  assert.ok(!globMayStartWith('product:*', 'page:'));
});

test('cloudflare: JSON bodies of at most 100 tags, shapes purge everything, URL shapes by prefix', () => {
  const plan = compilePlan(settings('{ type: http, preset: cloudflare, params: { zoneId: z1 }, headers: { Authorization: "Bearer t" }, keyUrls: [{ prefix: "page:", url: "https://shop.example/p/{{suffix}}" }] }'), 'edge');
  assert.equal(plan.ratePerSec, 5);
  const tags = Array.from({ length: 150 }, (_, i) => `t:${i}`);
  const reqs = plan.requests({ ...empty, tags, keyShapes: ['page:*'], tagShapes: ['t:*'] });
  assert.deepEqual(reqs.map((r) => r.items.length), [100, 50, 1, 1]);
  assert.equal(reqs[0]!.url, 'https://api.cloudflare.com/client/v4/zones/z1/purge_cache');
  assert.equal(reqs[0]!.headers.Authorization, 'Bearer t');
  assert.deepEqual(JSON.parse(reqs[1]!.body!), { tags: tags.slice(100) });
  assert.deepEqual(JSON.parse(reqs[2]!.body!), { purge_everything: true });
  assert.deepEqual(JSON.parse(reqs[3]!.body!), { prefixes: ['shop.example/p/'] });
});

test('config errors name the target and setting', () => {
  const fail = (target: string, pattern: RegExp) => assert.throws(() => compilePlan(settings(target), 'edge'), pattern);
  fail('{ type: http }', /targets\.edge\.requests\.tags: is required/);
  fail('{ type: http, preset: fastly }', /targets\.edge\.params\.serviceId: preset fastly needs params\.serviceId/);
  fail('{ type: http, preset: varnish-xkey }', /targets\.edge\.baseUrl: is required/);
  fail('{ type: http, preset: varnish-xkey, baseUrl: "v:80" }', /targets\.edge\.baseUrl: "v:80" is not an http/);
  fail('{ type: http, preset: varnish-xkey, baseUrl: "http://v", requests: { tags: { url: "{{baseUrl}}/{{tag}}" } } }', /targets\.edge\.requests\.tags\.url: unknown placeholder \{\{tag\}\}/);
  fail('{ type: http, preset: varnish-xkey, baseUrl: "http://v", requests: { tags: { body: "{{items|yaml}}" } } }', /requests\.tags\.body: unknown filter \|yaml/);
  fail('{ type: http, preset: bunny, params: { pullZoneId: "1" }, requests: { tags: { maxPerRequest: 5 } } }', /requests\.tags\.maxPerRequest: must be 1: the request uses \{\{item\}\}/);
  fail('{ type: http, requests: { tags: { method: POST, url: "http://x/{{items}}" } } }', /requests\.shape: is required .*never be dropped/);
  fail('{ type: http, preset: varnish-xkey, baseUrl: "http://v", keyUrls: [{ prefix: "p:", url: "http://{{suffix}}.example/" }] }', /keyUrls\[0\]\.url: the key must go in the path/);
  fail('{ type: http, preset: varnish-xkey, baseUrl: "http://v", keyUrls: [{ prefix: "p:", url: "/p/{{suffix}}" }] }', /keyUrls\[0\]\.url: .*does not render an absolute URL/);
});

test('batches respect the byte limit too: long keys split before Varnish\'s 8 KB header limit', () => {
  const plan = compilePlan(settings('{ type: http, preset: varnish-xkey, baseUrl: "http://v" }'), 'edge');
  const tags = Array.from({ length: 100 }, (_, i) => `${'x'.repeat(200)}:${i}`);
  const reqs = plan.requests({ ...empty, tags });
  assert.ok(reqs.length > 1);
  assert.ok(reqs.every((r) => r.headers['xkey-purge']!.length <= 6_000));
  assert.deepEqual(reqs.flatMap((r) => r.items), tags);
  const custom = compilePlan(settings('{ type: http, preset: varnish-xkey, baseUrl: "http://v", requests: { tags: { maxBytesPerRequest: 100 } } }'), 'edge');
  assert.deepEqual(custom.requests({ ...empty, tags: ['a'.repeat(150), 'b', 'c'] }).map((r) => r.items), [['a'.repeat(150)], ['b', 'c']]);
});

test('httpTargetProblems: the first problem as a config problem (path, message), none for good settings', async () => {
  const { httpTargetProblems } = await import('./index.js');
  assert.deepEqual(httpTargetProblems(settings('{ type: http, preset: varnish-xkey, baseUrl: "http://v" }'), 'edge'), []);
  assert.deepEqual(httpTargetProblems(settings('{ type: http, preset: fastly }'), 'edge'), [{ path: 'targets.edge.params.serviceId', message: 'preset fastly needs params.serviceId' }]);
  const [unknown] = httpTargetProblems(settings('{ type: http, preset: varnish-xkey, baseUrl: "http://v", requests: { tags: { url: "{{nope}}" } } }'), 'edge');
  assert.equal(unknown?.path, 'targets.edge.requests.tags.url');
  assert.match(unknown?.message ?? '', /^unknown placeholder \{\{nope\}\}/);
});
