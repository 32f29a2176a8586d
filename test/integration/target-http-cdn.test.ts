// The CDN presets' request shapes, sent for real over HTTP to a local server of the test's own
// that records every request and answers as the test says (there is no network to the CDNs
// here: these prove what evictd sends and how it reacts to the answers, not the CDNs' side).
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../../services/invalidator/src/config/load.js';
import { createHttpTarget } from '../../services/invalidator/src/targets/http/index.js';
import type { HttpTargetSettings } from '../../services/invalidator/src/targets/http/settings.js';
import type { ApplyContext, Target } from '../../services/invalidator/src/targets/target.js';
import type { BatchInvalidation } from '../../services/invalidator/src/redis/batch.js';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let base: string;
let recorded: Recorded[] = [];
/** Answers for the next requests (status, headers); then 200. */
let answers: Array<{ status: number; headers?: Record<string, string> }> = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const a = answers.shift() ?? { status: 200 };
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers }).end(a.status === 200 ? '{"success":true}' : '{"errors":[{"message":"nope"}]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  recorded = [];
  answers = [];
});

const stop = new AbortController();
const targets: Target[] = [];
const logLines: string[] = [];
after(async () => {
  stop.abort();
  for (const t of targets) await t.stop();
  server.close();
});

async function target(spec: string, env: Record<string, string> = {}): Promise<Target> {
  const config = parseConfig(
    `postgres: { url: postgres://u@127.0.0.1:5/app }\nkafka: { brokers: ["127.0.0.1:9092"] }\ntables:\n  public.p: { keys: ["product:{id}"] }\ntargets:\n  cdn: ${spec}\n`,
    '/test.yaml',
    env,
  );
  // A logger that writes into logLines, to check what a failure logs.
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const t = await createHttpTarget(config.targets.cdn as HttpTargetSettings, 'cdn', { config, logger, registry: new Registry(), signal: stop.signal });
  targets.push(t);
  return t;
}

function applyContext() {
  const retries: unknown[] = [];
  const ctx: ApplyContext = { signal: new AbortController().signal, onRetry: (err) => retries.push(err), onProgress: () => {} };
  return { ctx, retries };
}
const batch = (b: Partial<BatchInvalidation>): BatchInvalidation => ({ keys: [], tags: [], keyShapes: [], tagShapes: [], ...b });
const tags = (n: number) => Array.from({ length: n }, (_, i) => `category:${i}`);

test('fastly: Surrogate-Key purges of at most 256 keys, the key from the environment, a shape purges the service', async () => {
  const cdn = await target(`{ type: http, preset: fastly, baseUrl: "${base}", params: { serviceId: SVC }, headers: { Fastly-Key: "\${FASTLY_KEY}" } }`, { FASTLY_KEY: 'fk-secret' });
  const outcome = await cdn.apply(batch({ tags: tags(300), keys: ['product:1'], tagShapes: ['category:*'] }), applyContext().ctx);
  assert.deepEqual(outcome, { items: 302, requests: 3 });
  const purges = recorded.filter((r) => r.url === '/service/SVC/purge');
  assert.deepEqual(purges.map((r) => r.method), ['POST', 'POST']);
  const sent = purges.flatMap((r) => String(r.headers['surrogate-key']).split(' '));
  assert.deepEqual(new Set(sent), new Set([...tags(300), 'product:1']));
  assert.ok(purges.every((r) => String(r.headers['surrogate-key']).split(' ').length <= 256));
  assert.ok(recorded.every((r) => r.headers['fastly-key'] === 'fk-secret'));
  assert.deepEqual(recorded.filter((r) => r.url !== '/service/SVC/purge').map((r) => `${r.method} ${r.url}`), ['POST /service/SVC/purge_all']);
});

test('cloudflare: JSON bodies of at most 100 tags, keyUrls files, URL shapes by prefix, tag shapes purge everything', async () => {
  const cdn = await target(`{ type: http, preset: cloudflare, baseUrl: "${base}", params: { zoneId: Z }, headers: { Authorization: "Bearer cf" }, ratePerSec: 1000, keyUrls: [{ prefix: "page:", url: "https://shop.example/p/{{suffix}}" }] }`);
  await cdn.apply(batch({ tags: tags(150), keys: ['page:a', 'page:b'], keyShapes: ['page:*'], tagShapes: ['category:*'] }), applyContext().ctx);
  assert.ok(recorded.every((r) => r.method === 'POST' && r.url === '/zones/Z/purge_cache' && r.headers.authorization === 'Bearer cf' && r.headers['content-type'] === 'application/json'));
  const bodies = recorded.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  const tagBodies = bodies.filter((b) => 'tags' in b).map((b) => b.tags as string[]);
  assert.deepEqual(tagBodies.map((t) => t.length).sort((a, b) => b - a), [100, 50]);
  assert.deepEqual(new Set(tagBodies.flat()), new Set(tags(150)));
  assert.deepEqual(bodies.filter((b) => !('tags' in b)).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
    { files: ['https://shop.example/p/a', 'https://shop.example/p/b'] },
    { prefixes: ['shop.example/p/'] },
    { purge_everything: true },
  ]);
});

test('akamai and bunny: their request shapes', async () => {
  const akamai = await target(`{ type: http, preset: akamai, baseUrl: "${base}", params: { network: production, cpcode: "1234" } }`);
  await akamai.apply(batch({ tags: ['a', 'b'], tagShapes: ['x:*'] }), applyContext().ctx);
  assert.deepEqual(recorded.map((r) => [r.url, JSON.parse(r.body)]).sort(), [
    ['/ccu/v3/delete/cpcode/production', { objects: [1234] }],
    ['/ccu/v3/delete/tag/production', { objects: ['a', 'b'] }],
  ]);
  recorded = [];
  const bunny = await target(`{ type: http, preset: bunny, baseUrl: "${base}", params: { pullZoneId: "7" }, headers: { AccessKey: k } }`);
  await bunny.apply(batch({ tags: ['a', 'b'] }), applyContext().ctx);
  assert.deepEqual(recorded.map((r) => [r.url, JSON.parse(r.body), r.headers.accesskey]).sort(), [
    ['/pullzone/7/purgeCache', { CacheTag: 'a' }, 'k'],
    ['/pullzone/7/purgeCache', { CacheTag: 'b' }, 'k'],
  ]);
});

test('429 with Retry-After and 503 are retried until confirmed; onRetry is told each time', async () => {
  const cdn = await target(`{ type: http, preset: fastly, baseUrl: "${base}", params: { serviceId: S }, retry: { minDelayMs: 10, maxDelayMs: 50 } }`);
  answers = [{ status: 429, headers: { 'Retry-After': '0' } }, { status: 503 }];
  const { ctx, retries } = applyContext();
  const outcome = await cdn.apply(batch({ tags: ['t'] }), ctx);
  assert.deepEqual(outcome, { items: 1, requests: 3 });
  assert.equal(recorded.length, 3);
  assert.equal(retries.length, 2);
  assert.equal(cdn.down(), null);
});

test('401 is not retried: apply rejects with what to check, and no header value reaches the error or the log', async () => {
  const cdn = await target(`{ type: http, preset: cloudflare, baseUrl: "${base}", params: { zoneId: Z }, headers: { Authorization: "Bearer \${CF_TOKEN}" } }`, { CF_TOKEN: 'tok-secret-123' });
  answers = [{ status: 401 }];
  logLines.length = 0;
  const { ctx, retries } = applyContext();
  const err = await cdn.apply(batch({ tags: ['t'] }), ctx).then(
    () => assert.fail('apply should reject'),
    (e: unknown) => e as Error & { retriable: boolean },
  );
  assert.match(err.message, /target cdn: tags purge POST http:\/\/127\.0\.0\.1:\d+\/zones\/Z\/purge_cache answered 401.*Check the credentials/);
  assert.equal(err.retriable, false);
  assert.equal(retries.length, 0);
  assert.equal(recorded.length, 1);
  assert.ok(logLines.length > 0, 'the failure is logged');
  assert.doesNotMatch(err.message + logLines.join('\n'), /tok-secret-123/);
  assert.match(cdn.down()?.error ?? '', /401/);
});
