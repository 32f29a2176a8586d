import { test } from 'node:test';
import assert from 'node:assert/strict';
import { standbyStatusUpdate } from './stream.js';

test('standby status update carries exactly the given LSN (no +1) and the clock in µs since 2000-01-01', () => {
  const lsn = (0x1n << 32n) | 0xabcdefn;
  const buf = standbyStatusUpdate(lsn, Date.UTC(2000, 0, 1, 0, 0, 1), true);
  assert.equal(buf.length, 34);
  assert.equal(buf.toString('latin1', 0, 1), 'r');
  for (const offset of [1, 9, 17]) assert.equal(buf.readBigUInt64BE(offset), lsn);
  assert.equal(buf.readBigInt64BE(25), 1_000_000n);
  assert.equal(buf.readUInt8(33), 1);
  assert.equal(standbyStatusUpdate(0n, Date.now()).readUInt8(33), 0);
});
