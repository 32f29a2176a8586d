import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyRegistry, keyRegistryDocument, KeyRegistryError } from './key-registry.js';

const registry = createKeyRegistry({
  'public.products': { keys: ['product:{id}', 'product:{id}:detail'], tags: ['category:{category_id}'] },
  'public.categories': { keys: ['category:{id}'], tags: ['category:{id}'] },
  'public.odd': { keys: ['a.b+c:{x}-{y}'] },
});

test('shapes are the templates\' globs, deduplicated across tables', () => {
  assert.deepEqual(registry.keyShapes, ['product:*', 'product:*:detail', 'category:*', 'a.b+c:*-*']);
  assert.deepEqual(registry.tagShapes, ['category:*']);
});

test('a key joins every key shape it can be an instance of, and its tags\' shapes', () => {
  assert.deepEqual(registry.shapesOf('product:1', []), [{ kind: 'key', shape: 'product:*' }]);
  // {id} may render to text with colons: product:1:detail could come from either template.
  assert.deepEqual(registry.shapesOf('product:1:detail', ['category:2']), [
    { kind: 'key', shape: 'product:*' },
    { kind: 'key', shape: 'product:*:detail' },
    { kind: 'tag', shape: 'category:*' },
  ]);
  assert.deepEqual(registry.shapesOf('category:3:products', ['category:3']), [
    { kind: 'key', shape: 'category:*' },
    { kind: 'tag', shape: 'category:*' },
  ]);
});

test('literal text is matched literally: regex and glob characters in templates mean themselves', () => {
  assert.deepEqual(registry.shapesOf('a.b+c:1-2', []), [{ kind: 'key', shape: 'a.b+c:*-*' }]);
  assert.deepEqual(registry.shapesOf('aXb+c:1-2', []), []);
  assert.deepEqual(registry.shapesOf('a.bbc:1-2', []), []);
});

test('a key no template can render joins no shape', () => {
  assert.deepEqual(registry.shapesOf('session:9', ['user:1']), []);
  assert.deepEqual(registry.shapesOf('xproduct:1', []), []);
});

test('an empty placeholder value is still an instance of its template', () => {
  assert.deepEqual(registry.shapesOf('product:', []), [{ kind: 'key', shape: 'product:*' }]);
});

test('bad templates are all reported, with their paths and the source', () => {
  assert.throws(
    () => createKeyRegistry({ 'public.t': { keys: ['x:{', 'ok:{id}'], tags: [7 as unknown as string] } }, 'rules.yaml'),
    (err: Error) =>
      err instanceof KeyRegistryError &&
      /^rules\.yaml: invalid key registry/.test(err.message) &&
      /tables\.public\.t\.keys\[0\]: unclosed "\{"/.test(err.message) &&
      /tables\.public\.t\.tags\[0\]: must be a template string, got number/.test(err.message),
  );
  assert.throws(() => createKeyRegistry([] as never, 'r.json'), /r\.json: "tables" must be a map/);
});

test('the registry document keeps exactly the templates', () => {
  assert.deepEqual(keyRegistryDocument({ 'public.t': { keys: ['k:{id}'], columns: ['a'] } as never }), {
    evictdKeyRegistry: 1,
    tables: { 'public.t': { keys: ['k:{id}'], tags: [] } },
  });
});
