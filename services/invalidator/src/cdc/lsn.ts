/**
 * Log sequence numbers: a 64-bit WAL position, kept as a bigint (a JS number loses bits past 2^53)
 * and written the way Postgres does, `X/Y` with each half in hex. Parsing is strict: anything
 * that is not exactly that throws, so a corrupt position can never be acknowledged by accident.
 */
export type Lsn = bigint;

export const LSN_ZERO: Lsn = 0n;
const MAX: Lsn = (1n << 64n) - 1n;
const FORMAT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const m = typeof text === 'string' ? FORMAT.exec(text) : null;
  if (!m) throw new Error(`invalid LSN ${JSON.stringify(text)}: expected two hex numbers of up to 8 digits as X/Y, e.g. 0/16B3748`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  assertLsn(lsn);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function assertLsn(lsn: Lsn): void {
  if (typeof lsn !== 'bigint' || lsn < 0n || lsn > MAX) throw new Error(`invalid LSN value ${String(lsn)}: expected a bigint in [0, 2^64)`);
}

export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a >= b ? a : b;
}

/** Bytes of WAL between two positions (never negative). */
export function lsnDistance(from: Lsn, to: Lsn): bigint {
  return to > from ? to - from : 0n;
}

/** The LSN as a JSON number when exact, else its decimal text (beyond 2^53 of WAL). */
export function lsnToJson(lsn: Lsn): number | string {
  return lsn <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(lsn) : lsn.toString();
}

/**
 * JSON text of `lsnToJson(parseLsn(text))` without the bigint round trip: the publisher writes one
 * per event. Same strictness as parseLsn (anything but X/Y with 1-8 hex digits each throws).
 */
export function lsnJsonText(text: string): string {
  const m = FORMAT.exec(text);
  if (!m) return JSON.stringify(lsnToJson(parseLsn(text)));
  const hi = parseInt(m[1]!, 16);
  // Below 2^21 in the high half the position is below 2^53: exact as a double.
  if (hi < 0x200000) return String(hi * 0x100000000 + parseInt(m[2]!, 16));
  return JSON.stringify(lsnToJson(parseLsn(text)));
}
