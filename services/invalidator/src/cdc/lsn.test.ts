import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLsn, formatLsn, lsnDistance, lsnToJson, maxLsn, parseLsn } from './lsn.js';

test('parseLsn reads both halves as hex, case-insensitive, with or without padding', () => {
  const cases: [string, bigint][] = [
    ['0/0', 0n],
    ['0/16B3748', 0x16b3748n],
    ['00000000/016b3748', 0x16b3748n],
    ['1/0', 1n << 32n],
    ['FFFFFFFF/FFFFFFFF', (1n << 64n) - 1n],
    ['A/1', (10n << 32n) | 1n],
  ];
  for (const [text, value] of cases) assert.equal(parseLsn(text), value, text);
});

test('parseLsn throws on anything that is not X/Y', () => {
  for (const bad of ['', '0', '/1', '1/', '0/0/0', ' 0/1', '0/1 ', 'G/1', '123456789/0', '0/123456789', '-1/0', '0x1/0', '1.5/0']) {
    assert.throws(() => parseLsn(bad), /invalid LSN/, bad);
  }
  assert.throws(() => parseLsn(undefined as unknown as string), /invalid LSN/);
});

test('formatLsn writes what Postgres writes and round-trips', () => {
  assert.equal(formatLsn(0n), '0/0');
  assert.equal(formatLsn(0x16b3748n), '0/16B3748');
  assert.equal(formatLsn((3n << 32n) | 0xan), '3/A');
  for (const text of ['0/1', '1/0', 'FFFFFFFF/FFFFFFFF', '2A/DEADBEEF']) assert.equal(formatLsn(parseLsn(text)), text);
  assert.throws(() => formatLsn(-1n), /invalid LSN value/);
  assert.throws(() => formatLsn(1n << 64n), /invalid LSN value/);
});

test('comparison is numeric, not textual', () => {
  // As strings '0/9' > '0/10'; as positions it is the other way round.
  assert.equal(compareLsn(parseLsn('0/9'), parseLsn('0/10')), -1);
  assert.equal(compareLsn(parseLsn('1/0'), parseLsn('0/FFFFFFFF')), 1);
  assert.equal(compareLsn(parseLsn('0/A'), parseLsn('0/a')), 0);
  assert.equal(maxLsn(5n, 3n), 5n);
  assert.equal(lsnDistance(10n, 3n), 0n);
  assert.equal(lsnDistance(3n, 10n), 7n);
});

test('lsnToJson is a number while exact and a decimal string beyond 2^53', () => {
  assert.equal(lsnToJson(parseLsn('0/16B3748')), 0x16b3748);
  assert.equal(lsnToJson(2n ** 53n + 1n), '9007199254740993');
});
