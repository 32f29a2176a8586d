import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseId, parseProductPatch } from './input.js';

test('parseId takes plain positive integers up to the Postgres integer maximum', () => {
  assert.deepEqual(parseId('1', 'product'), { ok: true, value: 1 });
  assert.deepEqual(parseId('2147483647', 'product'), { ok: true, value: 2147483647 });
  for (const bad of ['', '0', '-1', '01', '1.5', '1e3', ' 1', 'abc', '2147483648', '99999999999']) {
    const parsed = parseId(bad, 'product');
    assert.equal(parsed.ok, false, `accepted ${JSON.stringify(bad)}`);
    assert.match(parsed.ok ? '' : parsed.reason, /^product id must be a positive integer/);
  }
});

test('parseProductPatch keeps the known fields, trims names and takes prices as exact decimal text', () => {
  assert.deepEqual(parseProductPatch({ name: ' Mug ', price: 12.5, category_id: 2 }), { ok: true, value: { name: 'Mug', price: '12.5', category_id: 2 } });
  assert.deepEqual(parseProductPatch({ price: '0.99' }), { ok: true, value: { price: '0.99' } });
  assert.deepEqual(parseProductPatch({ description: '' }), { ok: true, value: { description: '' } });
});

test('parseProductPatch says what is wrong with a bad body', () => {
  const reason = (body: unknown) => {
    const parsed = parseProductPatch(body);
    assert.equal(parsed.ok, false, `accepted ${JSON.stringify(body)}`);
    return parsed.ok ? '' : parsed.reason;
  };
  assert.match(reason(null), /body must be a JSON object/);
  assert.match(reason([1]), /body must be a JSON object/);
  assert.match(reason({}), /at least one of name, description, price, category_id/);
  assert.match(reason({ colour: 'red' }), /unknown field\(s\) colour/);
  assert.match(reason({ name: '   ' }), /name must be a string of 1 to 100/);
  assert.match(reason({ price: -1 }), /price must be a non-negative amount/);
  assert.match(reason({ price: '1.999' }), /at most 2 decimals/);
  assert.match(reason({ price: 1e21 }), /price must be/);
  assert.match(reason({ category_id: '2' }), /category_id must be a positive integer/);
  assert.match(reason({ name: 7, price: 'x' }), /name must be .*; price must be/);
});
