import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeGlob, parseTemplate, renderTemplate, templateToGlob, TemplateSyntaxError } from './template.js';

test('parses placeholders and literal parts', () => {
  const t = parseTemplate('product:{id}:detail:{id}:{lang}');
  assert.deepEqual(t.columns, ['id', 'lang']);
  assert.deepEqual(t.parts, [{ literal: 'product:' }, { column: 'id' }, { literal: ':detail:' }, { column: 'id' }, { literal: ':' }, { column: 'lang' }]);
});

test('doubled braces are literal braces', () => {
  const t = parseTemplate('{{raw}}:{id}');
  assert.deepEqual(t.columns, ['id']);
  assert.equal(renderTemplate(t, new Map([['id', 7]])), '{raw}:7');
});

test('syntax errors say what is wrong and where', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['product:{}', /empty placeholder "\{\}" at position 8/],
    ['product:{id', /unclosed "\{" at position 8/],
    ['product:id}', /unmatched "\}" at position 10/],
    ['product:{a{b}', /"\{" inside the placeholder/],
    ['product:{ id }', /surrounding spaces: write \{id\}/],
  ];
  for (const [source, message] of cases) {
    assert.throws(() => parseTemplate(source), (err: unknown) => err instanceof TemplateSyntaxError && message.test(err.message), source);
  }
});

test('renders values the way JavaScript string interpolation does', () => {
  const t = parseTemplate('k:{a}:{b}:{c}:{d}');
  const values = new Map<string, unknown>([['a', 'x'], ['b', 12], ['c', true], ['d', null]]);
  assert.equal(renderTemplate(t, values), 'k:x:12:true:null');
});

test('template to glob: placeholders become *, literal glob characters are escaped', () => {
  assert.equal(templateToGlob(parseTemplate('product:{id}')), 'product:*');
  assert.equal(templateToGlob(parseTemplate('product:{id}:detail')), 'product:*:detail');
  assert.equal(templateToGlob(parseTemplate('p*?[x]\\:{id}')), 'p\\*\\?\\[x\\]\\\\:*');
  assert.equal(escapeGlob('a*b'), 'a\\*b');
});
