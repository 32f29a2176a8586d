/**
 * The Memcached target against real memcached servers (two, started here on free ports): what a
 * batch deletes, on every server, and what it leaves; tags as version keys; table-wide
 * invalidations; and the commit rule's half that lives in the target: apply() resolves only once
 * every server confirmed, retrying through an outage, and never resolves for a server that does
 * not answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMemcached, type LocalMemcached } from '@evictd/infra';
import { parseConfig } from '../../services/invalidator/src/config/index.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { createRegistry } from '../../services/invalidator/src/observability/metrics.js';
import type { BatchInvalidation } from '../../services/invalidator/src/redis/batch.js';
import { commands, MemcachedConnection } from '../../services/invalidator/src/targets/memcached/client.js';
import { createMemcachedTarget, PIPELINE_COMMANDS } from '../../services/invalidator/src/targets/memcached/index.js';
import type { MemcachedTargetSettings } from '../../services/invalidator/src/targets/memcached/settings.js';
import type { ApplyContext, Target } from '../../services/invalidator/src/targets/target.js';
import { uniqueName, waitFor } from '../support/index.js';

let a: LocalMemcached;
let b: LocalMemcached;
const clients = new Map<string, MemcachedConnection>();
const targets: Target[] = [];

before(async () => {
  [a, b] = await Promise.all([startMemcached(), startMemcached()]);
});

after(async () => {
  for (const t of targets) await t.stop();
  for (const c of clients.values()) c.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

/** The test's own connection to a server (a fresh one after a restart). */
function client(server: LocalMemcached): MemcachedConnection {
  let c = clients.get(server.address);
  if (!c || !c.connected) {
    c?.close();
    c = new MemcachedConnection(server.address, 5_000);
    clients.set(server.address, c);
  }
  return c;
}

async function setKeys(server: LocalMemcached, keys: readonly string[], value = 'cached'): Promise<void> {
  const replies = await client(server).request(keys.map((k) => commands.set(k, value)));
  assert.ok(replies.every((r) => r === 'STORED'), `set on ${server.address}`);
}

/** The keys of `keys` that `server` holds, with their values. */
async function present(server: LocalMemcached, keys: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let i = 0; i < keys.length; i += 100) {
    const [reply] = await client(server).request([commands.get(...keys.slice(i, i + 100))]);
    assert.ok(reply instanceof Map, `get on ${server.address}: ${String(reply)}`);
    for (const [k, v] of reply) found.set(k, v.toString());
  }
  return found;
}

const RULES = `postgres: { url: postgres://x@127.0.0.1/app }\nkafka: { brokers: ["127.0.0.1:9"] }\ntargets: { mc: { type: memcached } }\n`;
const KEY_RULES = `${RULES}tables:\n  public.products: { keys: ["product:{id}", "product:{id}:detail"] }\n`;
const TAG_RULES = `${RULES}tables:\n  public.products: { keys: ["product:{id}"], tags: ["category:{category_id}"] }\n`;

async function target(overrides: Partial<MemcachedTargetSettings> = {}, rules = KEY_RULES): Promise<{ target: Target; registry: ReturnType<typeof createRegistry> }> {
  const registry = createRegistry();
  const settings: MemcachedTargetSettings = { type: 'memcached', groupId: 'g', servers: [a.address, b.address], keyPrefix: `${uniqueName('t')}:`, timeoutMs: 2_000, tags: 'refuse', tableWide: 'flush-all', ...overrides };
  const config = parseConfig(rules, '/etc/evictd/evictd.yaml');
  const t = await createMemcachedTarget(settings, 'mc', { config, logger: createLogger('test', 'silent'), registry, signal: new AbortController().signal });
  targets.push(t);
  return { target: t, registry };
}

function applyContext(signal = new AbortController().signal): ApplyContext & { retries: unknown[] } {
  const retries: unknown[] = [];
  return { signal, retries, onRetry: (err) => retries.push(err), onProgress: () => {} };
}

const batchOf = (parts: Partial<BatchInvalidation>): BatchInvalidation => ({ keys: [], tags: [], keyShapes: [], tagShapes: [], ...parts });

test('a batch deletes each of its keys on every server, pipelined, and nothing else', async () => {
  const { target: t } = await target({ keyPrefix: 'p1:' });
  // More keys than one pipeline slice, so the slicing is crossed.
  const changed = Array.from({ length: PIPELINE_COMMANDS * 2 + 10 }, (_, i) => `product:${i}`);
  const others = ['product:x', 'product:10:detail', 'other:1', 'product:1:other'];
  for (const server of [a, b]) await setKeys(server, [...changed, ...others].map((k) => `p1:${k}`));
  // A key written without the prefix must survive too.
  await setKeys(a, ['product:1']);
  const outcome = await t.apply(batchOf({ keys: [...changed, 'never-cached:1'] }), applyContext());
  assert.equal(outcome.items, changed.length + 1);
  assert.equal(outcome.requests, 2 * 3, 'three slices per server, two servers');
  for (const server of [a, b]) {
    assert.equal((await present(server, changed.map((k) => `p1:${k}`))).size, 0, `every changed key gone from ${server.address}`);
    assert.deepEqual([...(await present(server, others.map((k) => `p1:${k}`))).keys()].sort(), others.map((k) => `p1:${k}`).sort(), `the others stay on ${server.address}`);
  }
  assert.equal((await present(a, ['product:1'])).size, 1, 'a key outside the prefix is not touched');
});

test('keys memcached cannot store are skipped (and counted); the rest of the batch is deleted', async () => {
  const { target: t, registry } = await target({ keyPrefix: 'p2:' });
  await setKeys(a, ['p2:product:1']);
  await t.apply(batchOf({ keys: ['product:a b', 'product:1', `product:${'x'.repeat(300)}`] }), applyContext());
  assert.equal((await present(a, ['p2:product:1'])).size, 0);
  assert.match(await registry.metrics(), /evictd_memcached_skipped_keys_total\{target="mc"\} 2/);
});

test('tags: refused at start by target and table unless version-keys; then each invalidation sets a new version on every server', async () => {
  await assert.rejects(target({}, TAG_RULES), (err: { code?: string; message: string }) => err.code === 'CONFIG_MEMCACHED_TAGS' && /target mc \(memcached\).*public\.products.*\/etc\/evictd\/evictd\.yaml/.test(err.message));
  const { target: t } = await target({ keyPrefix: 'p3:', tags: 'version-keys' }, TAG_RULES);
  await setKeys(a, ['p3:tagv:category:1', 'p3:tagv:category:2'], 'v0');
  await setKeys(b, ['p3:tagv:category:1', 'p3:tagv:category:2'], 'v0');
  await t.apply(batchOf({ tags: ['category:1'] }), applyContext());
  const first = await present(a, ['p3:tagv:category:1', 'p3:tagv:category:2']);
  const onB = await present(b, ['p3:tagv:category:1']);
  assert.notEqual(first.get('p3:tagv:category:1'), 'v0', 'the tag got a new version');
  assert.equal(onB.get('p3:tagv:category:1'), first.get('p3:tagv:category:1'), 'the same new version on every server');
  assert.equal(first.get('p3:tagv:category:2'), 'v0', 'another tag keeps its version');
  // A version key the app never created (or memcached evicted) is created: no old value can come back.
  await t.apply(batchOf({ tags: ['category:1', 'category:3'] }), applyContext());
  const second = await present(a, ['p3:tagv:category:1', 'p3:tagv:category:3']);
  assert.notEqual(second.get('p3:tagv:category:1'), first.get('p3:tagv:category:1'), 'each invalidation a new version');
  assert.ok(second.has('p3:tagv:category:3'));
});

test('a table-wide invalidation flushes every server; with tableWide: ignore only its keys go', async () => {
  const { target: ignoring, registry } = await target({ keyPrefix: 'p4:', tableWide: 'ignore' });
  await setKeys(a, ['p4:product:1', 'p4:product:2', 'unrelated:1']);
  await ignoring.apply(batchOf({ keys: ['product:1'], keyShapes: ['product:*'] }), applyContext());
  assert.deepEqual([...(await present(a, ['p4:product:1', 'p4:product:2', 'unrelated:1'])).keys()], ['p4:product:2', 'unrelated:1']);
  assert.match(await registry.metrics(), /evictd_memcached_table_wide_ignored_total\{target="mc"\} 1/);

  const { target: flushing, registry: flushRegistry } = await target({ keyPrefix: 'p4:' });
  await setKeys(b, ['unrelated:1']);
  await flushing.apply(batchOf({ keyShapes: ['product:*'] }), applyContext());
  for (const server of [a, b]) assert.equal((await present(server, ['p4:product:2', 'unrelated:1'])).size, 0, `${server.address} flushed`);
  assert.match(await flushRegistry.metrics(), /evictd_memcached_flush_all_total\{target="mc"\} 1/);
  // The flush is not a lasting state: what is cached after it stays.
  await setKeys(a, ['p4:product:2']);
  assert.equal((await present(a, ['p4:product:2'])).size, 1);
});

test('a server that does not answer: apply retries and resolves only after it confirmed, the other server meanwhile done', async () => {
  const { target: t } = await target({ keyPrefix: 'p5:', timeoutMs: 300 });
  const keys = ['product:1', 'product:2'];
  for (const server of [a, b]) await setKeys(server, keys.map((k) => `p5:${k}`));
  b.pause(); // holds the connection, answers nothing: the worst case for a commit rule
  try {
    const ctx = applyContext();
    let settled = false;
    const applying = t.apply(batchOf({ keys }), ctx).finally(() => (settled = true));
    await waitFor(() => ctx.retries.length >= 2, { timeoutMs: 20_000, what: 'apply to retry the paused server' });
    assert.equal(settled, false, 'apply must not resolve while a server has not confirmed');
    assert.equal((await present(a, keys.map((k) => `p5:${k}`))).size, 0, 'the answering server is done');
    assert.match(t.down()?.error ?? '', new RegExp(`${b.address}.*no reply within 300 ms`));
    b.resume();
    await applying;
    assert.equal((await present(b, keys.map((k) => `p5:${k}`))).size, 0, 'deleted on the paused server after it resumed');
    assert.equal(t.down(), null);
  } finally {
    b.resume();
  }
});

test('an apply aborted while a server is down rejects (the batch stays uncommitted)', async () => {
  const { target: t } = await target({ keyPrefix: 'p6:', timeoutMs: 300 });
  await b.kill();
  try {
    const abort = new AbortController();
    const ctx = applyContext(abort.signal);
    const applying = t.apply(batchOf({ keys: ['product:1'] }), ctx);
    await waitFor(() => ctx.retries.length >= 1, { timeoutMs: 20_000, what: 'a retry against the killed server' });
    abort.abort();
    await assert.rejects(applying, /memcached 127\.0\.0\.1:\d+: cannot connect/);
  } finally {
    await b.start();
  }
});

test('an idle target sees a server go and come back (health without traffic)', async () => {
  const { target: t, registry } = await target({ keyPrefix: 'p7:', timeoutMs: 300 });
  assert.equal(t.down(), null);
  await a.kill();
  try {
    await waitFor(() => t.down() !== null, { timeoutMs: 20_000, what: 'the probe to notice the killed server' });
    assert.ok(t.down()?.error.includes(a.address));
    assert.deepEqual((t.detail().servers as { server: string; up: boolean }[]).map((s) => s.up), [false, true]);
    assert.match(await registry.metrics(), new RegExp(`evictd_memcached_server_up\\{target="mc",server="${a.address.replaceAll('.', '\\.')}"\\} 0`));
  } finally {
    await a.start();
  }
  await waitFor(() => t.down() === null, { timeoutMs: 20_000, what: 'the probe to see the server back' });
});
