import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from './template.js';

const names = new Set(['items', 'item', 'baseUrl', 'params.zoneId']);

test('placeholders with filters: lists space-separated by default, json, comma, url', () => {
  const t = compileTemplate('{{baseUrl}}/z/{{params.zoneId}}?k={{ item|url }} {"tags":{{items|json}},"c":"{{items|comma}}","s":"{{items}}"}', names, 'w');
  assert.equal(
    t.render({ baseUrl: 'http://a', 'params.zoneId': 'z', item: 'a b/c', items: ['x', 'y"z'] }),
    'http://a/z/z?k=a%20b%2Fc {"tags":["x","y\\"z"],"c":"x,y"z","s":"x y"z"}',
  );
  assert.deepEqual([...t.names].sort(), ['baseUrl', 'item', 'items', 'params.zoneId']);
});

test('JSON braces are text; a stray {{ is an error naming the setting', () => {
  assert.equal(compileTemplate('{"purge_everything":true}', names, 'w').render({}), '{"purge_everything":true}');
  assert.throws(() => compileTemplate('{{ items', names, 'targets.e.requests.tags.body'), /targets\.e\.requests\.tags\.body: "\{\{" that is not a placeholder/);
  assert.throws(() => compileTemplate('{{tags}}', names, 'w'), /unknown placeholder \{\{tags\}\}; here you can use \{\{baseUrl\}\}, \{\{item\}\}, \{\{items\}\}, \{\{params\.zoneId\}\}/);
});
