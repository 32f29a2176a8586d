import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOAST_UNAVAILABLE, type RowImage } from '@evictd/schemas';
import { compileRules, type TableRule } from './compile.js';
import { resolveChange, type RowChange } from './resolve.js';

function rule(spec: { keys?: string[]; tags?: string[]; columns?: string[] }): TableRule {
  const compiled = compileRules({ 'public.products': spec }, 'rules.yaml').tables.get('public.products');
  assert.ok(compiled);
  return compiled;
}

const products = rule({ keys: ['product:{id}', 'product:{id}:detail'], tags: ['category:{category_id}'], columns: ['name', 'price'] });
const row = (over: Partial<RowImage> = {}): RowImage => ({ id: 1, name: 'a', price: '9.99', category_id: 1, stock: 5, ...over });
const update = (before: RowImage | null, after: RowImage, key: RowImage | null = { id: 1 }): RowChange => ({ op: 'u', before, after, key });

test('an update resolves keys and tags against the old and the new row', () => {
  const inv = resolveChange(products, update(row(), row({ category_id: 2 })));
  assert.deepEqual(inv.keys, ['product:1', 'product:1:detail']);
  assert.deepEqual(inv.tags, ['category:1', 'category:2']);
  assert.deepEqual([inv.keyShapes, inv.tagShapes, inv.unresolved], [[], [], []]);
});

test('a change to an unwatched column invalidates nothing', () => {
  const inv = resolveChange(products, update(row(), row({ stock: 4 })));
  assert.deepEqual([inv.keys, inv.tags, inv.keyShapes, inv.tagShapes], [[], [], [], []]);
});

test('a watched column change invalidates', () => {
  assert.deepEqual(resolveChange(products, update(row(), row({ price: '10.00' }))).keys, ['product:1', 'product:1:detail']);
});

test('without old values (REPLICA IDENTITY DEFAULT) the filter cannot tell, so it invalidates', () => {
  const r = rule({ keys: ['product:{id}'], columns: ['name'] });
  assert.deepEqual(resolveChange(r, update(null, row({ stock: 4 }))).keys, ['product:1']);
});

test('before: null on an update means the key is unchanged: key columns come from the Kafka key', () => {
  const r = rule({ keys: ['product:{id}'] });
  const inv = resolveChange(r, update(null, row()));
  assert.deepEqual(inv.keys, ['product:1']);
  assert.deepEqual(inv.keyShapes, []);
});

test('an old value the event lacks becomes a glob, never a silent miss', () => {
  // REPLICA IDENTITY DEFAULT: no old category_id, so the old tag cannot be computed.
  const inv = resolveChange(products, update(null, row({ name: 'b' })));
  assert.deepEqual(inv.keys, ['product:1', 'product:1:detail']);
  assert.deepEqual(inv.tags, []);
  assert.deepEqual(inv.tagShapes, ['category:*']);
  assert.match(inv.unresolved[0] ?? '', /public\.products "category:\{category_id\}": the event lacks the old category_id value/);
});

test('an unchanged TOASTed value equals the old value; unavailable on both sides is unknown', () => {
  const r = rule({ keys: ['doc:{slug}'], columns: ['body'] });
  const before = { id: 1, slug: 's', body: 'x' };
  // Unchanged TOASTed slug: new value = old value.
  assert.deepEqual(resolveChange(r, update(before, { id: 1, slug: TOAST_UNAVAILABLE, body: 'y' })).keys, ['doc:s']);
  // Unchanged TOASTed filter column alone: nothing watched changed.
  assert.deepEqual(resolveChange(r, update(before, { id: 1, slug: 's', body: TOAST_UNAVAILABLE })).keys, []);
  // Unavailable in both images: the value cannot be known -> glob.
  const inv = resolveChange(r, update({ ...before, slug: TOAST_UNAVAILABLE }, { id: 1, slug: TOAST_UNAVAILABLE, body: 'y' }));
  assert.deepEqual(inv.keyShapes, ['doc:*']);
});

test('insert uses the new row, delete the old row', () => {
  const r = rule({ keys: ['product:{id}'], tags: ['category:{category_id}'] });
  assert.deepEqual(resolveChange(r, { op: 'c', before: null, after: row(), key: { id: 1 } }).tags, ['category:1']);
  assert.deepEqual(resolveChange(r, { op: 'd', before: row({ category_id: 3 }), after: null, key: { id: 1 } }).tags, ['category:3']);
  // A delete under REPLICA IDENTITY DEFAULT carries only the key: the tag needs a glob.
  assert.deepEqual(resolveChange(r, { op: 'd', before: { id: 1 }, after: null, key: { id: 1 } }).tagShapes, ['category:*']);
});

test('the column filter does not apply to inserts and deletes', () => {
  assert.deepEqual(resolveChange(products, { op: 'c', before: null, after: row(), key: { id: 1 } }).keys, ['product:1', 'product:1:detail']);
});

test('TRUNCATE turns every template into a glob', () => {
  const inv = resolveChange(products, { op: 't', before: null, after: null, key: null });
  assert.deepEqual(inv.keyShapes, ['product:*', 'product:*:detail']);
  assert.deepEqual(inv.tagShapes, ['category:*']);
  assert.deepEqual(inv.unresolved, []);
});
