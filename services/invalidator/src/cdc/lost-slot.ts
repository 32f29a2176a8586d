/**
 * Lost-slot detection. A slot that is dropped (or invalidated and dropped) and created again
 * resumes at its creation point: every change in between is unknown, and caches derived from the
 * published tables may be stale forever. evictd keeps a marker "published from slot S of database D
 * up to LSN L" in a compacted Kafka topic (next to the events it vouches for, and needing no write
 * access to the application database), written *before* the slot is acknowledged past L. So for
 * the same slot, confirmed_flush_lsn <= marker LSN always holds, and either of these means the slot
 * evictd knew is gone:
 *   - the slot had to be created, but a marker for it exists;
 *   - the slot's confirmed position is beyond the marker (someone else recreated it meanwhile).
 */
import { formatLsn, parseLsn, type Lsn } from './lsn.js';

export interface SlotMarker {
  database: string;
  slot: string;
  /** Highest position evictd may have acknowledged on the slot (`X/Y`). */
  lsn: string;
  updatedAt: string;
}

export type LostSlotVerdict = { lost: false } | { lost: true; why: string; lastLsn: string };

export function markerKey(database: string, slot: string): string {
  return `${database}/${slot}`;
}

export function encodeMarker(database: string, slot: string, lsn: Lsn, now: Date): string {
  const marker: SlotMarker = { database, slot, lsn: formatLsn(lsn), updatedAt: now.toISOString() };
  return JSON.stringify(marker);
}

/** Parses a stored marker; a marker that cannot be read is an error (guessing could hide a lost slot). */
export function decodeMarker(text: string): SlotMarker {
  const value = JSON.parse(text) as Partial<SlotMarker>;
  if (typeof value.database !== 'string' || typeof value.slot !== 'string' || typeof value.lsn !== 'string') {
    throw new Error(`unreadable slot marker ${text.slice(0, 200)}: expected {database, slot, lsn}`);
  }
  parseLsn(value.lsn);
  return value as SlotMarker;
}

export function detectLostSlot(slot: { created: boolean; confirmedFlush: Lsn }, marker: SlotMarker | null): LostSlotVerdict {
  if (!marker) return { lost: false };
  const recorded = parseLsn(marker.lsn);
  if (slot.created) {
    return { lost: true, lastLsn: marker.lsn, why: `replication slot "${marker.slot}" did not exist, but evictd had published from it up to ${marker.lsn} (marker of ${marker.updatedAt}); it was dropped or invalidated, and the changes since are unknown` };
  }
  if (slot.confirmedFlush > recorded) {
    return { lost: true, lastLsn: marker.lsn, why: `replication slot "${marker.slot}" is at ${formatLsn(slot.confirmedFlush)}, beyond the last position evictd recorded (${marker.lsn}); it was recreated while evictd was not running, and the changes in between are unknown` };
  }
  return { lost: false };
}
