// The demo API on the real pipeline: Postgres -> `evictd run` (child process) -> Kafka -> Redis,
// and the API reading cache-aside through @evictd/cache. The API never touches the cache on writes,
// so every fresh value after a change below is evictd's doing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { waitFor } from '../support/index.js';
import { call, startDemoUnderTest, type DemoUnderTest } from './demo-helpers.js';

interface Product {
  id: number;
  name: string;
  price: string;
  category_id: number;
}

let demo: DemoUnderTest;
let base: string;

before(async () => {
  demo = await startDemoUnderTest('demo_api', 11);
  base = demo.url;
});

after(async () => {
  await demo?.cleanup();
});

const json = (method: string, body: string, contentType = 'application/json'): RequestInit => ({ method, body, headers: { 'content-type': contentType } });

test('bad ids and bodies get 400 with the reason', async () => {
  const cases: Array<[string, RequestInit, RegExp]> = [
    ['/products/abc', {}, /product id must be a positive integer.*"abc"/],
    ['/products/0', {}, /product id must be a positive integer/],
    ['/products/1%20OR%201=1', {}, /product id must be a positive integer/],
    ['/categories/-2/products', {}, /category id must be a positive integer/],
    ['/products/x', json('PUT', '{"price":"1.00"}'), /product id must be a positive integer/],
    ['/products/1', json('PUT', '{"price":'), /body is not valid JSON/],
    ['/products/1', json('PUT', 'price=1', 'application/x-www-form-urlencoded'), /content-type: application\/json/],
    ['/products/1', json('PUT', '{}'), /at least one of name, description, price, category_id/],
    ['/products/1', json('PUT', '{"price":-3}'), /price must be a non-negative amount/],
    ['/products/1', json('PUT', '{"sku":"x"}'), /unknown field\(s\) sku/],
    ['/products/1', json('PUT', '{"category_id":999}'), /category_id 999 does not exist/],
    ['/products/7', json('PUT', '{"name":"a\\u0000b"}'), /name must not contain the NUL character/],
    ['/another-app/products/abc/price', { method: 'POST' }, /product id must be a positive integer/],
  ];
  for (const [path, init, reason] of cases) {
    const res = await call<{ error: string }>(base + path, init);
    assert.equal(res.status, 400, `${init.method ?? 'GET'} ${path}: ${JSON.stringify(res.body)}`);
    assert.match(res.body.error, reason, `${init.method ?? 'GET'} ${path}`);
  }
  assert.equal((await call(`${base}/products/999999`)).status, 404);
  assert.equal((await call(`${base}/products/1`, { method: 'DELETE' })).status, 405);
  // Nothing above reached the database.
  assert.equal((await call<Product>(`${base}/products/1`)).body.price, '14.50');
});

test('the first read is a MISS, the next one a HIT with the same value, and /metrics counts both', async () => {
  const first = await call<Product>(`${base}/products/7`);
  const second = await call<Product>(`${base}/products/7`);
  assert.equal(first.status, 200);
  assert.equal(first.cache, 'MISS');
  assert.equal(second.cache, 'HIT');
  assert.deepEqual(second.body, first.body);
  assert.deepEqual(first.body, { id: 7, name: 'Earl Grey', description: 'Black tea, bergamot, 100 g', price: '7.90', category_id: 2 });

  const list = await call<Product[]>(`${base}/categories/2/products`);
  assert.equal(list.cache, 'MISS');
  assert.deepEqual(list.body.map((p) => p.id), [5, 6, 7, 8]);
  assert.equal((await call(`${base}/categories/2/products`)).cache, 'HIT');

  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^demo_api_cache_hits_total\{[^}]*\} [1-9]/m);
  assert.match(metrics, /^demo_api_cache_misses_total\{[^}]*\} [1-9]/m);
  assert.match(metrics, /^demo_api_http_request_duration_seconds_count\{[^}]*route="\/products\/:id"[^}]*\} [1-9]/m);
});

test('after a direct SQL update by another app, the next read returns the new value', async () => {
  const cached = await call<Product>(`${base}/products/2`);
  assert.equal((await call<Product>(`${base}/products/2`)).cache, 'HIT');

  const other = new pg.Client({ connectionString: demo.databaseUrl });
  await other.connect();
  const { rows } = await other.query<{ price: string }>('UPDATE products SET price = price + 1.11 WHERE id = 2 RETURNING price::text AS price');
  await other.end();
  const newPrice = rows[0]!.price;
  assert.notEqual(newPrice, cached.body.price);

  // Until evictd's invalidation lands the cached value is served; the new one can only come from a load.
  const fresh = await waitFor(
    async () => {
      const res = await call<Product>(`${base}/products/2`);
      return res.body.price === newPrice ? res : undefined;
    },
    { timeoutMs: 20_000, what: 'the new price of product 2 through the API' },
  );
  assert.equal(fresh.cache, 'MISS');
  assert.equal((await call<Product>(`${base}/products/2`)).cache, 'HIT');
});

test('"another app" changes a price over its own connection, and the API follows', async () => {
  await call(`${base}/products/9`);
  const res = await call<{ product: Product; sql: string }>(`${base}/another-app/products/9/price`, { method: 'POST' });
  assert.equal(res.status, 200);
  assert.match(res.body.sql, /^UPDATE products SET price = price [+-] \d+\.\d\d WHERE id = 9$/);
  assert.notEqual(res.body.product.price, '24.00');
  await waitFor(async () => (await call<Product>(`${base}/products/9`)).body.price === res.body.product.price, {
    timeoutMs: 20_000,
    what: 'the price set by "another app" through the API',
  });
});

test('"another app" keeps a price at the top of numeric(10,2) in range instead of failing', async () => {
  const put = await call<Product>(`${base}/products/12`, json('PUT', '{"price":"99999999.99"}'));
  assert.equal(put.status, 200, JSON.stringify(put.body));
  // Each change goes up or down at random: 8 in a row would overflow about 255 times in 256 if unclamped.
  for (let i = 0; i < 8; i++) {
    const res = await call<{ product: Product; error?: string }>(`${base}/another-app/products/12/price`, { method: 'POST' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(Number(res.body.product.price) <= 99_999_999.99, res.body.product.price);
  }
});

test('HEAD answers like GET without a body, the event stream included', async () => {
  for (const path of ['/products/1', '/healthz', '/events', '/']) {
    const res = await fetch(base + path, { method: 'HEAD' });
    assert.equal(res.status, 200, `HEAD ${path}`);
    assert.equal(await res.text(), '', `HEAD ${path}`);
  }
  assert.equal((await fetch(`${base}/products/1`, { method: 'HEAD' })).headers.get('x-cache'), 'HIT');
});

test('moving a product to another category through PUT refreshes both category lists (old tag too)', async () => {
  const ids = async (category: number) => (await call<Product[]>(`${base}/categories/${category}/products`)).body.map((p) => p.id);
  assert.deepEqual(await ids(1), [1, 2, 3, 4]);
  assert.deepEqual(await ids(3), [9, 10, 11, 12]);

  const put = await call<Product>(`${base}/products/4`, json('PUT', JSON.stringify({ category_id: 3, name: 'Decaf Peru (gear shelf)' })));
  assert.equal(put.status, 200);
  assert.equal(put.body.category_id, 3);

  await waitFor(async () => (await ids(1)).join() === '1,2,3' && (await ids(3)).join() === '4,9,10,11,12', {
    timeoutMs: 20_000,
    what: 'category 1 without and category 3 with product 4',
  });
  assert.equal((await call<Product>(`${base}/products/4`)).body.name, 'Decaf Peru (gear shelf)');
});

test('the timeline stream follows a direct SQL change: seen, invalidated, next read MISS, refilled', async () => {
  // Cached, so the invalidation shows as deletions (of the key, and of the list through its tag).
  await call(`${base}/products/12`);
  await call(`${base}/categories/3/products`);
  const stream = await openEvents(`${base}/events`);
  try {
    const other = new pg.Client({ connectionString: demo.databaseUrl });
    await other.connect();
    await other.query("UPDATE products SET description = 'Size 02, 200 pieces' WHERE id = 12");
    await other.end();

    const invalidated = await stream.next((e) => e.key === 'product:12' && e.steps.invalidated !== undefined);
    assert.equal(invalidated.summary, 'products #12: description Size 02, 100 pieces → Size 02, 200 pieces');
    assert.equal(invalidated.steps.invalidated?.detail, 'deleted product:12');
    assert.ok(invalidated.steps.invalidated!.ms >= 0);

    assert.equal((await call(`${base}/products/12`)).cache, 'MISS');
    const done = await stream.next((e) => e.id === invalidated.id && e.steps.refilled !== undefined);
    assert.ok(done.steps.seen && done.steps.miss && done.steps.refilled);
    assert.ok(done.steps.refilled.ms >= done.steps.miss.ms);
    assert.deepEqual(done.alsoDeleted, ['category:3:products']);
  } finally {
    stream.close();
  }
});

test('/healthz checks Postgres and Redis and reports the timeline feeds', async () => {
  const res = await call<{ ok: boolean; detail: Record<string, unknown> }>(`${base}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.equal(res.body.detail.postgres, 'ok');
  assert.equal(res.body.detail.redis, 'ok');
  assert.deepEqual(res.body.detail.timeline, {
    changeFeed: 'ready',
    topics: [`${demo.ns}.public.products`, `${demo.ns}.public.categories`],
    keyspaceNotifications: true,
  });
});

interface TimelineEntry {
  id: number;
  key: string | null;
  summary: string;
  steps: Partial<Record<'seen' | 'invalidated' | 'miss' | 'refilled', { ms: number; detail?: string }>>;
  alsoDeleted: string[];
}

/** Reads the server-sent events of /events; next() waits for an `entry` event that matches. */
async function openEvents(url: string): Promise<{ next(match: (e: TimelineEntry) => boolean): Promise<TimelineEntry>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const entries: TimelineEntry[] = [];
  let buffer = '';
  const readMore = async () => {
    const { value, done } = await reader.read();
    if (done) throw new Error('the event stream ended');
    const messages = (buffer + value).split('\n\n');
    buffer = messages.pop() ?? '';
    for (const message of messages) {
      const data = /^data: (.*)$/m.exec(message)?.[1];
      if (/^event: entry$/m.test(message) && data) entries.push(JSON.parse(data) as TimelineEntry);
    }
  };
  return {
    async next(match) {
      const timeout = AbortSignal.timeout(20_000);
      const timedOut = new Promise<never>((_, reject) =>
        timeout.addEventListener('abort', () => reject(new Error('no matching timeline entry within 20 s')), { once: true }),
      );
      for (;;) {
        const i = entries.findIndex(match);
        if (i >= 0) return entries.splice(0, i + 1)[i]!;
        entries.length = 0;
        await Promise.race([readMore(), timedOut]);
      }
    },
    close: () => controller.abort(),
  };
}

test("evictd's /metrics reports Redis INFO figures: memory, maxmemory, evictions, keyspace hits and misses", async () => {
  // Reads above made hits and misses; the sampler runs every 5 s, its first sample at start.
  const number = (text: string, name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  let text = '';
  await waitFor(async () => {
    text = await (await fetch(`${demo.demo.evictd.url}/metrics`)).text();
    return (number(text, 'evictd_redis_keyspace_hits_total') ?? 0) > 0;
  }, { timeoutMs: 15_000, what: 'evictd_redis_keyspace_hits_total above 0' });
  const used = number(text, 'evictd_redis_used_memory_bytes');
  assert.ok(used !== undefined && used > 100_000 && used < 4 * 1024 ** 3, `used memory ${used}`);
  assert.match(text, /^evictd_redis_maxmemory_bytes\{[^}]*policy="[a-z-]+"[^}]*\} \d+$/m);
  assert.ok((number(text, 'evictd_redis_keyspace_misses_total') ?? -1) >= 0);
  assert.ok((number(text, 'evictd_redis_evicted_keys_total') ?? -1) >= 0);
  assert.match(text, /^evictd_redis_info_samples_total\{[^}]*outcome="ok"[^}]*\} [1-9]/m);
  console.log(`Redis INFO via evictd: used_memory ${used}, hits ${number(text, 'evictd_redis_keyspace_hits_total')}, misses ${number(text, 'evictd_redis_keyspace_misses_total')}`);
});
