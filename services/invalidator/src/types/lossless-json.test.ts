import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonSyntaxError, parseJsonLossless } from './lossless-json.js';

test('integers beyond 2^53 come back exact, as bigint; others as JSON.parse gives them', () => {
  assert.deepEqual(parseJsonLossless('{"id":9007199254740993,"n":-9223372036854775808,"ok":9007199254740991}'), {
    id: 9007199254740993n,
    n: -9223372036854775808n,
    ok: 9007199254740991,
  });
  // A fraction or exponent is a float: a double, exactly as the producer's double was.
  assert.deepEqual(parseJsonLossless('[1234567890123456.5, 1.5E-7, 1e300, 0, -0.25]'), [1234567890123456.5, 1.5e-7, 1e300, 0, -0.25]);
});

test('the slow path parses the same documents as JSON.parse', () => {
  const docs = [
    '{"a":[1,2,{"b":null}],"c":"x\\"y\\\\z\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude80","d":true,"e":false,"f":{}}',
    ' [ ] ', '"Zoë 🚀"', '{"__proto__":{"x":1}}', '[-0, 0.5e+2, 1E2]',
  ];
  for (const doc of docs) {
    // a 16-digit number forces the slow path; its value is safe, so both agree
    const text = `{"force":1234567890123456,"doc":${doc}}`;
    assert.deepEqual(parseJsonLossless(text), JSON.parse(text), doc);
  }
  const proto = parseJsonLossless('{"x":1234567890123456,"__proto__":{"y":1}}') as Record<string, unknown>;
  assert.ok(Object.hasOwn(proto, '__proto__'), '__proto__ is data, as with JSON.parse');
});

test('invalid JSON is an error with its position, on both paths', () => {
  for (const bad of ['{"a":1,}', '[1 2]', '{"a" 1}', '"unterminated', '01', '{"a":tru}', '[1234567890123456,]', '"\\x"', '1234567890123456 7']) {
    assert.throws(() => parseJsonLossless(bad), (err: Error) => err instanceof SyntaxError, bad);
  }
  assert.throws(() => parseJsonLossless('[1234567890123456,]'), (err: Error) => err instanceof JsonSyntaxError && /position 18/.test(err.message));
});
