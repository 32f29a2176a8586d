import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codecs } from './codec.js';

test('json round-trips values, including null', () => {
  const c = codecs.json<{ a: number[] } | null>();
  assert.deepEqual(c.decode(Buffer.from(c.encode({ a: [1, 2] }))), { a: [1, 2] });
  assert.equal(c.decode(Buffer.from(c.encode(null))), null);
});

test('json refuses undefined instead of storing nothing', () => {
  assert.throws(() => codecs.json<undefined>().encode(undefined), /cannot store undefined/);
});

test('text and buffer codecs refuse the wrong type with a hint', () => {
  assert.throws(() => codecs.text.encode(42 as unknown as string), /codecs\.json\(\)/);
  assert.throws(() => codecs.buffer.encode('x' as unknown as Buffer), /stores Buffers/);
  const bytes = Buffer.from([0, 255, 1]);
  assert.deepEqual(codecs.buffer.decode(codecs.buffer.encode(bytes) as Buffer), bytes);
  assert.equal(codecs.text.decode(Buffer.from('héllo')), 'héllo');
});
