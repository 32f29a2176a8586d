import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkReply, memcachedTagProblem, planBatch, randomVersion, tagVersionKey } from './index.js';
import { commands } from './client.js';

const settings = { keyPrefix: 'app:', tags: 'version-keys', tableWide: 'flush-all' } as const;
const empty = { keys: [], tags: [], keyShapes: [], tagShapes: [] };

test('keys are deleted under the key prefix, tags get a new version key value', () => {
  const plan = planBatch({ ...empty, keys: ['product:1', 'product:1:detail'], tags: ['category:7'] }, settings, () => 'v9');
  assert.deepEqual(plan.commands.map((c) => c.line), ['delete app:product:1', 'delete app:product:1:detail', 'set app:tagv:category:7 0 0 2']);
  assert.equal(tagVersionKey('app:', 'category:7'), 'app:tagv:category:7');
  assert.deepEqual([plan.flush, plan.keys, plan.tags, plan.skipped.length], [false, 2, 1, 0]);
});

test('a shape flushes every server (covering the rest of the batch), unless tableWide is ignore', () => {
  const batch = { ...empty, keys: ['product:1'], keyShapes: ['product:*'] };
  const flush = planBatch(batch, settings, randomVersion);
  assert.equal(flush.flush, true);
  assert.deepEqual(flush.commands, [commands.flushAll()]);
  const tagShape = planBatch({ ...empty, tagShapes: ['category:*'] }, settings, randomVersion);
  assert.equal(tagShape.flush, true, 'a tag shape cannot be enumerated either');
  const ignore = planBatch(batch, { ...settings, tableWide: 'ignore' }, randomVersion);
  assert.equal(ignore.flush, false);
  assert.deepEqual(ignore.commands.map((c) => c.line), ['delete app:product:1'], 'the keys are still deleted');
  assert.deepEqual(ignore.ignoredShapes, ['product:*']);
});

test('keys memcached cannot store are skipped, not sent', () => {
  const plan = planBatch({ ...empty, keys: ['product:a b', 'product:2', `product:${'x'.repeat(250)}`] }, settings, randomVersion);
  assert.deepEqual(plan.commands.map((c) => c.line), ['delete app:product:2']);
  assert.deepEqual(plan.skipped.map((s) => s.key), ['app:product:a b', `app:product:${'x'.repeat(250)}`]);
});

test('tags under tags: refuse are refused at start by name, and a batch with tags is a bug there', () => {
  const config = { file: '/etc/evictd.yaml', tables: { 'public.products': { keys: ['p:{id}'], tags: ['category:{category_id}'] }, 'public.users': { keys: ['u:{id}'] } } };
  const problem = memcachedTagProblem('sessions', { tags: 'refuse' }, config) ?? '';
  assert.match(problem, /target sessions \(memcached\) cannot invalidate tags/);
  assert.match(problem, /rules of public\.products in \/etc\/evictd\.yaml/);
  assert.ok(!problem.includes('public.users'));
  assert.match(problem, /targets\.sessions\.tags: version-keys/);
  assert.equal(memcachedTagProblem('sessions', { tags: 'version-keys' }, config), null);
  assert.equal(memcachedTagProblem('sessions', { tags: 'refuse' }, { ...config, tables: { 'public.users': { keys: ['u:{id}'] } } }), null);
  assert.throws(() => planBatch({ ...empty, tags: ['category:1'] }, { ...settings, tags: 'refuse' }, randomVersion), /tags are refused/);
});

test('replies: deleted and not found confirm a delete, SERVER_ERROR is retriable, ERROR is not', () => {
  const del = commands.delete('k');
  checkReply('m:1', del, 'DELETED');
  checkReply('m:1', del, 'NOT_FOUND');
  checkReply('m:1', commands.set('k', 'v'), 'STORED');
  checkReply('m:1', commands.flushAll(), 'OK');
  assert.throws(() => checkReply('m:1', del, 'SERVER_ERROR busy'), (err: { retriable?: boolean; message: string }) => err.retriable === true && /m:1 answered "SERVER_ERROR busy"/.test(err.message));
  assert.throws(() => checkReply('m:1', del, 'ERROR'), (err: { retriable?: boolean }) => err.retriable === false);
  assert.throws(() => checkReply('m:1', commands.set('k', 'v'), 'NOT_STORED'), (err: { retriable?: boolean }) => err.retriable === false);
});

test('version values do not repeat', () => {
  const values = new Set(Array.from({ length: 1000 }, randomVersion));
  assert.equal(values.size, 1000);
});
