import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertValue } from './pg-values.js';

const BOOL = 16, BYTEA = 17, INT8 = 20, INT2 = 21, INT4 = 23, TEXT = 25, JSON_ = 114, FLOAT4 = 700, FLOAT8 = 701;
const DATE = 1082, TIMESTAMP = 1114, TIMESTAMPTZ = 1184, NUMERIC = 1700, UUID = 2950, JSONB = 3802;
const INT4_ARR = 1007, TEXT_ARR = 1009, INT8_ARR = 1016, TSTZ_ARR = 1185, BOOL_ARR = 1000, NUMERIC_ARR = 1231;

test('scalars convert by type OID without losing precision', () => {
  const cases: [string, number, unknown][] = [
    ['t', BOOL, true],
    ['f', BOOL, false],
    ['42', INT2, 42],
    ['-2147483648', INT4, -2147483648],
    ['9223372036854775807', INT8, '9223372036854775807'],
    ['12345678901234567890.123456789', NUMERIC, '12345678901234567890.123456789'],
    ['NaN', NUMERIC, 'NaN'],
    ['1.5', FLOAT8, 1.5],
    ['0.1', FLOAT4, 0.1],
    ['NaN', FLOAT8, 'NaN'],
    ['03:04:05.5+02', 1266, '01:04:05.5Z'], // timetz: in UTC, as Debezium's ZonedTime (issue 14)
    ['23:30:00-02:30', 1266, '02:00:00Z'],
    ['-Infinity', FLOAT8, '-Infinity'],
    ['hello', TEXT, 'hello'],
    ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', UUID, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ['{"a": 12345678901234567890}', JSONB, '{"a": 12345678901234567890}'],
    ['[1,2]', JSON_, '[1,2]'],
    ['\\x00ff10', BYTEA, Buffer.from([0, 255, 16]).toString('base64')],
    ['\\x', BYTEA, ''],
    ['2026-01-02', DATE, '2026-01-02'],
    ['2026-01-02 03:04:05.123456', TIMESTAMP, '2026-01-02T03:04:05.123456'],
    ['2026-01-02 03:04:05', TIMESTAMP, '2026-01-02T03:04:05'],
    ['infinity', TIMESTAMP, 'infinity'],
    ['2026-01-02 03:04:05.123456+00', TIMESTAMPTZ, '2026-01-02T03:04:05.123456Z'],
    ['2026-01-02 01:04:05.5+05:30', TIMESTAMPTZ, '2026-01-01T19:34:05.5Z'],
    ['2026-12-31 23:00:00-02', TIMESTAMPTZ, '2027-01-01T01:00:00Z'],
    ['0050-06-01 00:00:00+00', TIMESTAMPTZ, '0050-06-01T00:00:00Z'],
    ['-infinity', TIMESTAMPTZ, '-infinity'],
    ['happy', 99999, 'happy'], // an enum: its label
  ];
  for (const [text, oid, expected] of cases) assert.deepEqual(convertValue(text, oid), expected, `${text} (oid ${oid})`);
});

test('arrays become JSON arrays of converted elements', () => {
  const cases: [string, number, unknown][] = [
    ['{}', INT4_ARR, []],
    ['{1,2,NULL}', INT4_ARR, [1, 2, null]],
    ['{{1,2},{3,4}}', INT4_ARR, [[1, 2], [3, 4]]],
    ['[0:1]={5,6}', INT4_ARR, [5, 6]],
    ['{9223372036854775807}', INT8_ARR, ['9223372036854775807']],
    ['{t,f}', BOOL_ARR, [true, false]],
    ['{1.10,NaN}', NUMERIC_ARR, ['1.10', 'NaN']],
    ['{a,"b c","d,e","q\\"x","NULL",NULL,"back\\\\slash"}', TEXT_ARR, ['a', 'b c', 'd,e', 'q"x', 'NULL', null, 'back\\slash']],
    ['{"2026-01-02 03:04:05+00"}', TSTZ_ARR, ['2026-01-02T03:04:05Z']],
  ];
  for (const [text, oid, expected] of cases) assert.deepEqual(convertValue(text, oid), expected, text);
  assert.deepEqual(convertValue('{happy,sad}', 99998, '_mood'), ['happy', 'sad']);
});

test('malformed array text is an error naming the input', () => {
  for (const bad of ['{1,2', '1,2}', '{"a}', '{1}x', '[1:2]{1}']) assert.throws(() => convertValue(bad, INT4_ARR), /invalid array literal/, bad);
});
