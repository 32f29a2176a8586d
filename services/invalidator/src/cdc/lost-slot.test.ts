import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMarker, detectLostSlot, encodeMarker, type SlotMarker } from './lost-slot.js';

const marker: SlotMarker = { database: 'app', slot: 'evictd', lsn: '0/5000', updatedAt: '2026-01-01T00:00:00.000Z' };

test('detectLostSlot: a marker and a slot that had to be created, or that is past the marker, mean changes were lost', () => {
  const cases: { name: string; created: boolean; confirmedFlush: bigint; marker: SlotMarker | null; lost: boolean }[] = [
    { name: 'first run: new slot, no marker', created: true, confirmedFlush: 0x9000n, marker: null, lost: false },
    { name: 'slot pre-created by an admin, no marker', created: false, confirmedFlush: 0x9000n, marker: null, lost: false },
    { name: 'normal restart: slot behind the marker', created: false, confirmedFlush: 0x4000n, marker, lost: false },
    { name: 'normal restart: slot at the marker', created: false, confirmedFlush: 0x5000n, marker, lost: false },
    { name: 'slot dropped, recreated by evictd', created: true, confirmedFlush: 0x9000n, marker, lost: true },
    { name: 'slot recreated by someone else', created: false, confirmedFlush: 0x5001n, marker, lost: true },
  ];
  for (const c of cases) {
    const verdict = detectLostSlot({ created: c.created, confirmedFlush: c.confirmedFlush }, c.marker);
    assert.equal(verdict.lost, c.lost, c.name);
    if (verdict.lost) assert.equal(verdict.lastLsn, '0/5000', c.name);
  }
});

test('markers round-trip, and unreadable ones are errors', () => {
  const text = encodeMarker('app', 'evictd', 0x1_0000_0010n, new Date('2026-01-01T00:00:00Z'));
  assert.deepEqual(decodeMarker(text), { database: 'app', slot: 'evictd', lsn: '1/10', updatedAt: '2026-01-01T00:00:00.000Z' });
  assert.throws(() => decodeMarker('{"slot":"evictd"}'), /unreadable slot marker/);
  assert.throws(() => decodeMarker('{"database":"a","slot":"s","lsn":"zz"}'), /invalid LSN/);
  assert.throws(() => decodeMarker('not json'));
});
