/**
 * One canonical value per Postgres type, whatever produced the event. Pure.
 *
 * The canonical value of a column is exactly what `evictd publish` writes for it (cdc/pg-values:
 * Postgres' text output in fixed session styles, with a JSON number or boolean where the text is
 * one); a template renders it with `formatValue`. This module turns Debezium's representations
 * into it, using the field's Kafka Connect schema when the event carries one
 * (`io.debezium.time.*`, `org.apache.kafka.connect.data.Decimal`, `io.debezium.data.VariableScaleDecimal`,
 * ...) and else the column's type from the live catalog. A value whose canonical form cannot be
 * recovered (an interval as approximate microseconds, money without its currency symbol) is
 * reported as unknown: the caller drops the column, so templates that use it fall back to
 * invalidating everything they can produce instead of rendering a wrong key.
 *
 * Debezium's encodings, as in debezium-connector-postgres' PostgresValueConverter and
 * debezium-connector-common's io.debezium.time / io.debezium.data classes (3.x), serialized by
 * Kafka Connect's JsonConverter (bytes and Decimal as base64, int64 as a JSON number).
 */
import { TOAST_UNAVAILABLE, type JsonValue } from '@evictd/schemas';
import type { LosslessJson } from './lossless-json.js';

/** A column's type as the catalog describes it (rules/catalog.ts reads it). */
export interface ColumnType {
  /** `pg_type.typname` of the column (of a domain: of its base type); arrays: `_elem`. */
  readonly name: string;
  /** `typtype` 'e': an enum (its values are labels). */
  readonly isEnum?: boolean;
  /** Element type of an array column. */
  readonly element?: ColumnType | null;
  /** numeric(p, s): the scale; time/timestamp(p): the fractional precision; null when unconstrained. */
  readonly scale?: number | null;
}

/** A Kafka Connect schema as JsonConverter writes it (`schemas.enable=true`). */
export interface ConnectSchema {
  readonly type: string;
  readonly name?: string;
  readonly field?: string;
  readonly optional?: boolean;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly fields?: readonly ConnectSchema[];
  readonly items?: ConnectSchema;
}

export type Canonical = { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly reason: string };

const known = (value: JsonValue): Canonical => ({ ok: true, value });
const unknown = (reason: string): Canonical => ({ ok: false, reason });

/** How a Postgres type's canonical value is written. */
type Kind =
  | 'small-int' // int2, int4, oid: JSON number
  | 'int8' // decimal string (JSON numbers lose digits beyond 2^53 in most consumers)
  | 'float' // JSON number; NaN, Infinity, -Infinity as strings
  | 'bool'
  | 'numeric' // Postgres' text, scale kept: "12.50"
  | 'date' // YYYY-MM-DD
  | 'time' // HH:MM:SS[.ffffff], trailing zeros of the fraction dropped
  | 'timetz' // in UTC: HH:MM:SS[.ffffff]Z (Debezium's ZonedTime; the original offset is not kept)
  | 'timestamp' // YYYY-MM-DDTHH:MM:SS[.ffffff]
  | 'timestamptz' // in UTC: YYYY-MM-DDTHH:MM:SS[.ffffff]Z
  | 'interval' // ISO 8601 as Postgres' IntervalStyle iso_8601 writes it: P1Y2M3DT4H5M6.78S, zero parts left out
  | 'bytea' // base64
  | 'money' // Postgres' text with its currency symbol: Debezium's decimal cannot give it back
  | 'text'; // Postgres' text output: text, varchar, uuid, json, jsonb, enums, inet, ...

const KINDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['int2', 'small-int'], ['int4', 'small-int'], ['oid', 'small-int'], ['int8', 'int8'],
  ['float4', 'float'], ['float8', 'float'], ['bool', 'bool'], ['numeric', 'numeric'],
  ['date', 'date'], ['time', 'time'], ['timetz', 'timetz'], ['timestamp', 'timestamp'], ['timestamptz', 'timestamptz'],
  ['interval', 'interval'], ['bytea', 'bytea'], ['money', 'money'],
]);

export function kindOf(type: ColumnType): Kind {
  return KINDS.get(type.name) ?? 'text';
}

// ---------------------------------------------------------------------------------------------
// Canonical text of dates and times, from epoch counts (BigInt: micros beyond 2^53 stay exact).

/** Days since 1970-01-01 -> proleptic Gregorian y/m/d (H. Hinnant's civil_from_days). */
function civilFromDays(days: bigint): { y: bigint; m: number; d: number } {
  const z = days + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = Number(doy - (153n * mp + 2n) / 5n + 1n);
  const m = Number(mp < 10n ? mp + 3n : mp - 9n);
  return { y: yoe + era * 400n + (m <= 2 ? 1n : 0n), m, d };
}

const pad = (n: number | bigint, width = 2) => String(n).padStart(width, '0');

/** Postgres' date text (ISO): YYYY-MM-DD, years before 1 as "YYYY-MM-DD BC". */
function dateText(days: bigint): string {
  const { y, m, d } = civilFromDays(days);
  return y > 0n ? `${pad(y, 4)}-${pad(m)}-${pad(d)}` : `${pad(1n - y, 4)}-${pad(m)}-${pad(d)} BC`;
}

/** `.ffffff` with trailing zeros dropped, or nothing. */
function fraction(micros: bigint): string {
  if (micros === 0n) return '';
  return `.${pad(micros, 6).replace(/0+$/, '')}`;
}

/** Microseconds since midnight -> HH:MM:SS[.ffffff] (24:00:00 allowed, as Postgres does). */
function timeText(micros: bigint): string {
  const s = micros / 1_000_000n;
  return `${pad(s / 3600n)}:${pad((s / 60n) % 60n)}:${pad(s % 60n)}${fraction(micros % 1_000_000n)}`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/** Microseconds since the epoch -> YYYY-MM-DDTHH:MM:SS[.ffffff] (no zone). */
function timestampText(micros: bigint): string {
  const days = floorDiv(micros, 86_400_000_000n);
  const date = dateText(days);
  const time = timeText(micros - days * 86_400_000_000n);
  return date.endsWith(' BC') ? `${date.slice(0, -3)}T${time} BC` : `${date}T${time}`;
}

const ISO_ZONED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)$/;
const ISO_TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?(?::\d{2})?)?$/;

function offsetSeconds(zone: string): bigint {
  if (zone === 'Z') return 0n;
  const [h = '0', m = '0', s = '0'] = zone.slice(1).split(':');
  const sign = zone.startsWith('-') ? -1n : 1n;
  // "+0530" (no colon) as Postgres' timetz never writes it but ISO allows
  const [hh, mm] = m === '0' && h.length === 4 ? [h.slice(0, 2), h.slice(2)] : [h, m];
  return sign * (BigInt(hh) * 3600n + BigInt(mm) * 60n + BigInt(s));
}

const microsOfFraction = (digits: string | undefined) => BigInt((digits ?? '').padEnd(9, '0').slice(0, 6));

/** An ISO-8601 zoned timestamp (Debezium's ZonedTimestamp, evictd's own form) -> canonical UTC form. */
export function zonedTimestampText(text: string): string | null {
  if (text === 'infinity' || text === '-infinity') return text;
  const m = ISO_ZONED.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '0', frac, zone = 'Z'] = m;
  const days = daysFromCivil(BigInt(y ?? 0), Number(mo), Number(d));
  const seconds = days * 86400n + BigInt(h ?? 0) * 3600n + BigInt(mi ?? 0) * 60n + BigInt(s) - offsetSeconds(zone);
  return `${timestampText(seconds * 1_000_000n + microsOfFraction(frac))}Z`;
}

/** A time with offset (Postgres' timetz text, Debezium's ZonedTime) -> canonical UTC form HH:MM:SS[.ffffff]Z. */
export function zonedTimeText(text: string): string | null {
  const m = ISO_TIME.exec(text);
  if (!m) return null;
  const [, h, mi, s = '0', frac, zone = 'Z'] = m;
  const day = 86_400n;
  let seconds = (BigInt(h ?? 0) * 3600n + BigInt(mi ?? 0) * 60n + BigInt(s) - offsetSeconds(zone)) % day;
  if (seconds < 0n) seconds += day;
  return `${timeText(seconds * 1_000_000n + microsOfFraction(frac))}Z`;
}

/** y/m/d -> days since 1970-01-01 (H. Hinnant's days_from_civil). */
function daysFromCivil(y: bigint, m: number, d: number): bigint {
  const yy = m <= 2 ? y - 1n : y;
  const era = (yy >= 0n ? yy : yy - 399n) / 400n;
  const yoe = yy - era * 400n;
  const mp = BigInt(m > 2 ? m - 3 : m + 9);
  const doy = (153n * mp + 2n) / 5n + BigInt(d) - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146097n + doe - 719468n;
}

// ---------------------------------------------------------------------------------------------
// numeric

/** Unscaled two's-complement big-endian bytes (Connect's Decimal, VariableScaleDecimal's value). */
function unscaledFromBase64(base64: string): bigint | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return null;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) return 0n;
  let n = BigInt(`0x${bytes.toString('hex')}`);
  if ((bytes[0] ?? 0) & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

/** unscaled * 10^-scale as Postgres writes it: "12.50", "-0.05", "1200". */
function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  } else if (scale < 0) {
    digits += '0'.repeat(-scale);
  }
  return negative ? `-${digits}` : digits;
}

const DECIMAL_STRING = /^-?\d+(\.\d+)?$|^NaN$|^-?Infinity$/;

function numericFrom(value: LosslessJson, scale: number | null | undefined, schema: ConnectSchema | null): Canonical {
  if (isObject(value)) {
    // io.debezium.data.VariableScaleDecimal: {scale: int32, value: bytes} (precise mode, unconstrained numeric)
    const unscaled = typeof value.value === 'string' ? unscaledFromBase64(value.value) : null;
    if (unscaled === null || typeof value.scale !== 'number') return unknown('a VariableScaleDecimal without "scale" and base64 "value"');
    // Debezium strips trailing zeros first (PostgresValueConverter.convertDecimal): 12.50 arrives as 12.5.
    return known(decimalText(unscaled, value.scale));
  }
  if (typeof value === 'string') {
    const isDecimalSchema = schema?.name === 'org.apache.kafka.connect.data.Decimal';
    if (!isDecimalSchema && DECIMAL_STRING.test(value)) return known(value); // decimal.handling.mode=string: BigDecimal.toPlainString
    const s = isDecimalSchema ? Number(schema.parameters?.scale ?? '0') : scale;
    const unscaled = unscaledFromBase64(value);
    if (unscaled === null || s === null || s === undefined) return unknown(`${JSON.stringify(value)} is neither a decimal string nor base64 with a known scale`);
    return known(decimalText(unscaled, s)); // precise: org.apache.kafka.connect.data.Decimal, base64 unscaled bytes
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    // decimal.handling.mode=double: the digits are a double's; with the declared scale, as Postgres prints it
    return known(typeof value === 'number' && scale !== null && scale !== undefined && Number.isFinite(value) ? value.toFixed(scale) : String(value));
  }
  return unknown(`unexpected ${typeof value}`);
}

// ---------------------------------------------------------------------------------------------
// interval

const DEBEZIUM_INTERVAL = /^P(-?\d+)Y(-?\d+)M(-?\d+)DT(-?\d+)H(-?\d+)M(-?\d+(?:\.\d+)?)S$/;

/** io.debezium.time.Interval (interval.handling.mode=string: every part, "P1Y2M3DT4H5M6.78S") -> Postgres' iso_8601 text. */
function intervalText(text: string): string | null {
  const m = DEBEZIUM_INTERVAL.exec(text);
  if (!m) return /^P/.test(text) ? text : null;
  const [y, mo, d, h, mi] = m.slice(1, 6).map((p) => Number(p));
  const sec = m[6] ?? '0';
  const part = (n: number | undefined, unit: string) => (n ? `${n}${unit}` : '');
  const zeroSec = Number(sec) === 0;
  if (!y && !mo && !d && !h && !mi && zeroSec) return 'PT0S';
  const time = h || mi || !zeroSec ? `T${part(h, 'H')}${part(mi, 'M')}${zeroSec ? '' : `${sec.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '')}S`}` : '';
  return `P${part(y, 'Y')}${part(mo, 'M')}${part(d, 'D')}${time}`;
}

// ---------------------------------------------------------------------------------------------

function isObject(value: unknown): value is { [k: string]: LosslessJson } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const asBigInt = (value: LosslessJson): bigint | null =>
  typeof value === 'bigint' ? value : typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : null;

/** Debezium's unit for an epoch count, from the field schema's name, else the column's precision (time.precision.mode=adaptive, the default). */
function epochUnit(schemaName: string | undefined, precision: number | null | undefined): bigint {
  switch (schemaName) {
    case 'io.debezium.time.Time':
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Time':
    case 'org.apache.kafka.connect.data.Timestamp':
      return 1000n; // milliseconds
    case 'io.debezium.time.NanoTime':
    case 'io.debezium.time.NanoTimestamp':
      return -1000n; // nanoseconds (divide)
    case 'io.debezium.time.MicroTime':
    case 'io.debezium.time.MicroTimestamp':
      return 1n;
    default:
      return precision !== null && precision !== undefined && precision <= 3 ? 1000n : 1n;
  }
}

function toMicros(count: bigint, unit: bigint): bigint {
  return unit < 0n ? floorDiv(count, -unit) : count * unit;
}

/** Kind of a field from its Connect schema alone (no catalog). */
function kindOfSchema(schema: ConnectSchema): Kind | null {
  switch (schema.name) {
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
    case 'io.debezium.time.IsoDate':
      return 'date';
    case 'io.debezium.time.Time':
    case 'io.debezium.time.MicroTime':
    case 'io.debezium.time.NanoTime':
    case 'org.apache.kafka.connect.data.Time':
    case 'io.debezium.time.IsoTime':
      return 'time';
    case 'io.debezium.time.ZonedTime':
      return 'timetz';
    case 'io.debezium.time.Timestamp':
    case 'io.debezium.time.MicroTimestamp':
    case 'io.debezium.time.NanoTimestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
    case 'io.debezium.time.IsoTimestamp':
      return 'timestamp';
    case 'io.debezium.time.ZonedTimestamp':
      return 'timestamptz';
    case 'io.debezium.time.MicroDuration':
    case 'io.debezium.time.Interval':
      return 'interval';
    case 'org.apache.kafka.connect.data.Decimal':
    case 'io.debezium.data.VariableScaleDecimal':
      return 'numeric';
    default:
      break;
  }
  if (schema.name !== undefined && schema.name.startsWith('io.debezium.data.')) return 'text'; // Json, Uuid, Enum, Xml, Ltree, ...
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
      return 'small-int';
    case 'int64':
      return 'int8'; // Debezium maps oid to int64 too: only the catalog tells them apart
    case 'float32':
    case 'float64':
      return 'float';
    case 'boolean':
      return 'bool';
    case 'bytes':
      return 'bytea';
    case 'string':
      return 'text';
    default:
      return null;
  }
}

export interface TypeHint {
  /** The field's schema from the event (`schemas.enable=true`). */
  readonly schema?: ConnectSchema | null;
  /** The column's type from the catalog. */
  readonly column?: ColumnType | null;
}

/**
 * Debezium's JSON value for one column -> the canonical value. With neither hint the value is
 * kept as sent (bigints as decimal strings): the caller warns that keys may differ.
 */
export function canonicalFromDebezium(value: LosslessJson, hint: TypeHint): Canonical {
  if (value === null) return known(null);
  if (value === TOAST_UNAVAILABLE) return known(TOAST_UNAVAILABLE);
  const schema = hint.schema ?? null;
  const column = hint.column ?? null;
  const kind = column ? kindOf(column) : schema ? kindOfSchema(schema) : null;
  if (Array.isArray(value)) {
    const items = schema?.items ?? null;
    const element = column?.element ?? null;
    const out: JsonValue[] = [];
    for (const item of value) {
      const c = canonicalFromDebezium(item, { schema: items, column: element });
      if (!c.ok) return c;
      out.push(c.value);
    }
    return known(out);
  }
  if (kind === null) return known(plain(value));
  return convertKind(kind, value, schema, column);
}

/** A JSON value without type information, as a template would render it. */
function plain(value: LosslessJson): JsonValue {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function convertKind(kind: Kind, value: LosslessJson, schema: ConnectSchema | null, column: ColumnType | null): Canonical {
  const precision = column?.scale;
  const bad = (what: string) => unknown(`${JSON.stringify(plain(value))} is not a ${what}`);
  switch (kind) {
    case 'small-int':
      return typeof value === 'number' ? known(value) : typeof value === 'bigint' ? known(Number(value)) : bad('number');
    case 'int8':
      return typeof value === 'number' || typeof value === 'bigint' ? known(String(value)) : typeof value === 'string' && /^-?\d+$/.test(value) ? known(value) : bad('64-bit integer');
    case 'float':
      if (typeof value === 'number') return known(value);
      if (typeof value === 'string' && /^(NaN|-?Infinity)$/.test(value)) return known(value); // Jackson quotes non-finite doubles
      return bad('float');
    case 'bool':
      return typeof value === 'boolean' ? known(value) : bad('boolean');
    case 'numeric':
      return numericFrom(value, column?.scale, schema);
    case 'date': {
      const days = asBigInt(value);
      if (days !== null) return known(dateText(days)); // io.debezium.time.Date, Connect Date: int32 days since the epoch
      if (typeof value === 'string') {
        const m = /^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$/.exec(value); // io.debezium.time.IsoDate (ISO_OFFSET_DATE)
        return m?.[1] ? known(m[1]) : value === 'infinity' || value === '-infinity' ? known(value) : bad('date');
      }
      return bad('date');
    }
    case 'time': {
      const count = asBigInt(value);
      if (count !== null) return known(timeText(toMicros(count, epochUnit(schema?.name, precision))));
      if (typeof value === 'string') {
        const t = zonedTimeText(value); // io.debezium.time.IsoTime, in UTC
        return t ? known(t.slice(0, -1)) : bad('time');
      }
      return bad('time');
    }
    case 'timetz': {
      const t = typeof value === 'string' ? zonedTimeText(value) : null; // io.debezium.time.ZonedTime: ISO_OFFSET_TIME in UTC
      return t ? known(t) : bad('time with time zone');
    }
    case 'timestamp': {
      const count = asBigInt(value);
      if (count !== null) return known(timestampText(toMicros(count, epochUnit(schema?.name, precision))));
      if (typeof value === 'string') {
        const t = zonedTimestampText(value); // io.debezium.time.IsoTimestamp, in UTC
        return t ? known(t.endsWith('Z') ? t.slice(0, -1) : t) : bad('timestamp');
      }
      return bad('timestamp');
    }
    case 'timestamptz': {
      const t = typeof value === 'string' ? zonedTimestampText(value) : null; // io.debezium.time.ZonedTimestamp
      return t ? known(t) : bad('timestamp with time zone');
    }
    case 'interval': {
      if (typeof value === 'string') {
        const t = intervalText(value);
        return t ? known(t) : bad('interval');
      }
      // io.debezium.time.MicroDuration (interval.handling.mode=numeric, the default): months counted as
      // 365.25/12 days and days as 24 h, so '1 mon' and '30 days 10:30' are the same number.
      return unknown('an interval as MicroDuration microseconds cannot be turned back into its text (set interval.handling.mode=string)');
    }
    case 'bytea': {
      if (typeof value !== 'string') return bad('bytea');
      if (schema?.type === 'string' && /^[0-9a-fA-F]*$/.test(value) && value.length % 2 === 0) return known(Buffer.from(value, 'hex').toString('base64')); // binary.handling.mode=hex
      if (/[-_]/.test(value)) return known(value.replace(/-/g, '+').replace(/_/g, '/')); // base64-url-safe
      return known(value); // bytes (the default): JsonConverter writes base64
    }
    case 'money':
      return unknown('Debezium sends money as a decimal, without the currency symbol Postgres writes ("$12.35")');
    case 'text':
      return typeof value === 'string' ? known(value) : known(plain(value));
  }
}
