import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadLetterMessage } from './dead-letter.js';

test('keeps the original bytes and says why and where from', () => {
  const message = deadLetterMessage({ topic: 'evictd.public.products', partition: 3, offset: '42', key: Buffer.from('{"id":1}'), value: Buffer.from('{oops'), reason: 'value is not valid JSON' });
  assert.deepEqual(message, {
    key: Buffer.from('{"id":1}'),
    value: Buffer.from('{oops'),
    headers: {
      'reason': 'value is not valid JSON',
      'original-topic': 'evictd.public.products',
      'original-partition': '3',
      'original-offset': '42',
    },
  });
});
