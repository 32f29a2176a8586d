import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgainstCatalog, typeWarnings, type TableInfo } from './catalog.js';
import { compileRules } from './compile.js';

/** The old-value problems of public.products only (the rules also hold other deliberate mistakes). */
const productProblems = (rules: Parameters<typeof checkAgainstCatalog>[0], catalog: Parameters<typeof checkAgainstCatalog>[1]) =>
  checkAgainstCatalog(rules, catalog).filter((p) => p.path.startsWith('tables.public.products') && p.message.includes('needs the old value'));

const rules = compileRules(
  {
    'public.products': { keys: ['product:{id}'], tags: ['category:{category_id}'], columns: ['name', 'colour'] },
    'public.missing': { keys: ['m:{id}'] },
    'public.categories': { keys: ['category:{id}:{slug}'] },
  },
  'evictd.yaml',
);

const products = (over: Partial<TableInfo> = {}): TableInfo => ({
  columns: ['id', 'name', 'category_id'],
  primaryKey: ['id'],
  replicaIdentity: 'default',
  identityColumns: ['id'],
  columnTypes: new Map([['id', { name: 'int4' }], ['name', { name: 'text' }], ['category_id', { name: 'int4' }]]),
  ...over,
});

test('lists missing tables, unknown columns and old values the replica identity does not send', () => {
  const catalog = new Map([
    ['public.products', products()],
    ['public.categories', { columns: ['id', 'name'], primaryKey: ['id'], replicaIdentity: 'full', identityColumns: ['id', 'name'], columnTypes: new Map() }],
  ]);
  const problems = checkAgainstCatalog(rules, catalog).map((p) => `${p.file}: ${p.path}: ${p.message}`);
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems[0] ?? '', /^evictd\.yaml: tables\.public\.products\.columns\[1\]: column "colour" does not exist in public\.products/);
  assert.match(problems[1] ?? '', /tables\.public\.products\.tags\[0\]: "category:\{category_id\}" needs the old value of category_id .*REPLICA IDENTITY DEFAULT, which sends only the old primary key \(id\): run ALTER TABLE public\.products REPLICA IDENTITY FULL/);
  assert.match(problems[2] ?? '', /tables\.public\.missing: table public\.missing does not exist/);
  assert.match(problems[3] ?? '', /tables\.public\.categories\.keys\[0\]: "category:\{id\}:\{slug\}" uses column "slug", which public\.categories does not have/);
});

test('REPLICA IDENTITY FULL satisfies every template', () => {
  const catalog = new Map([['public.products', products({ replicaIdentity: 'full', identityColumns: ['id', 'name', 'category_id'] })]]);
  assert.deepEqual(productProblems(rules, catalog), []);
});

test('REPLICA IDENTITY NOTHING is named as such', () => {
  const catalog = new Map([['public.products', products({ replicaIdentity: 'nothing', identityColumns: [] })]]);
  const messages = productProblems(rules, catalog).map((p) => p.message);
  assert.equal(messages.length, 2);
  assert.match(messages[0] ?? '', /"product:\{id\}" needs the old value of id .*REPLICA IDENTITY NOTHING/);
});

test('warns about templates whose column text depends on Debezium\'s settings, and about TRUNCATE on Debezium topics', () => {
  const typed = compileRules({ 'public.orders': { keys: ['order:{id}', 'by-price:{price}:{day}'], tags: ['during:{span}'] } }, 'evictd.yaml');
  const info = products({
    columns: ['id', 'price', 'day', 'span'],
    columnTypes: new Map([['id', { name: 'int8' }], ['price', { name: 'numeric', scale: 2 }], ['day', { name: 'date' }], ['span', { name: '_interval', element: { name: 'interval' } }]]),
  });
  const catalog = new Map([['public.orders', info]]);
  const own = typeWarnings(typed, catalog, { debeziumTopics: false });
  assert.deepEqual(own.map((w) => w.path), ['tables.public.orders.keys[1]', 'tables.public.orders.tags[0]']);
  assert.match(own[0]?.message ?? '', /public\.orders\.price \(numeric\).*decimal\.handling\.mode/);
  assert.match(own[1]?.message ?? '', /interval\.handling\.mode=string/);
  const debezium = typeWarnings(typed, catalog, { debeziumTopics: true });
  assert.equal(debezium.length, 3);
  assert.match(debezium[2]?.message ?? '', /skipped\.operations=none.*public\.orders/);
});
