import assert from 'node:assert/strict';
import { test } from 'node:test';
import { characters, parseId, parseProductPatch } from './input.js';

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

test('names are measured in characters as Postgres counts them, and NUL (which Postgres text cannot hold) is refused', () => {
  assert.equal(characters('🍵'.repeat(3)), 3);
  const emoji = '🍵'.repeat(100); // 200 UTF-16 units, 100 characters: what the table's CHECK (length(name) <= 100) takes
  assert.deepEqual(parseProductPatch({ name: emoji }), { ok: true, value: { name: emoji } });
  const tooLong = parseProductPatch({ name: '🍵'.repeat(101) });
  assert.match(tooLong.ok ? '' : tooLong.reason, /name must be a string of 1 to 100 characters/);
  const nul = parseProductPatch({ name: 'a\u0000b', description: 'x\u0000' });
  assert.match(nul.ok ? '' : nul.reason, /name must not contain the NUL character.*; description must not contain the NUL/);
});
