import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvictdError } from '../errors.js';
import { compileRules, requiredOldColumns, shapeWarnings } from './compile.js';

test('compiles tables into rules with watched columns', () => {
  const rules = compileRules(
    { 'public.products': { keys: ['product:{id}'], tags: ['category:{category_id}'], columns: ['name', 'price'] } },
    '/etc/evictd.yaml',
  );
  const rule = rules.tables.get('public.products');
  assert.ok(rule);
  assert.equal(rule.schema, 'public');
  assert.equal(rule.name, 'products');
  assert.deepEqual(rule.watched, ['name', 'price', 'id', 'category_id']);
  assert.deepEqual(requiredOldColumns(rule), ['id', 'category_id']);
});

test('a rule without a column filter watches everything', () => {
  const rule = compileRules({ 'public.c': { keys: ['c:{id}'] } }, 'f.yaml').tables.get('public.c');
  assert.equal(rule?.watched, null);
});

test('reports every problem with the file and the path in it', () => {
  assert.throws(
    () =>
      compileRules(
        {
          products: { keys: ['p:{id}'] },
          'public.a': { keys: ['ok:{id}', 'bad:{}'], tags: ['t:{x'] },
          'public.b': {},
          'public.c': { keys: ['c:{id}'], columns: [] },
        },
        '/etc/evictd.yaml',
      ),
    (err: unknown) => {
      assert.ok(err instanceof EvictdError);
      assert.equal(err.code, 'CONFIG_RULES_INVALID');
      const lines = err.message.split('\n').slice(1).map((l) => l.trim());
      assert.equal(lines.length, 5);
      assert.match(lines[0] ?? '', /^- \/etc\/evictd\.yaml: tables\.products: .*schema\.table, e\.g\. public\.products/);
      assert.match(lines[1] ?? '', /^- \/etc\/evictd\.yaml: tables\.public\.a\.keys\[1\]: empty placeholder/);
      assert.match(lines[2] ?? '', /tables\.public\.a\.tags\[0\]: unclosed/);
      assert.match(lines[3] ?? '', /tables\.public\.b: the rule has no keys and no tags/);
      assert.match(lines[4] ?? '', /tables\.public\.c\.columns: an empty column filter/);
      return true;
    },
  );
});

test('a template without literal text is flagged: its shape would flush the whole cache', () => {
  const rules = compileRules({ 'public.c': { keys: ['{id}', 'c:{id}'], tags: ['{group}'] } }, 'f.yaml');
  const warnings = shapeWarnings(rules);
  assert.deepEqual(warnings.map((w) => w.path), ['tables.public.c.keys[0]', 'tables.public.c.tags[0]']);
  assert.match(warnings[0]!.message, /matches every key: a TRUNCATE of public\.c would invalidate the whole cache; give it a prefix, e.g\. "c:\{id\}"/);
  assert.deepEqual(shapeWarnings(compileRules({ 'public.c': { keys: ['c:{id}'] } }, 'f.yaml')), []);
});
