/**
 * Postgres text output -> JSON values for change events. Pure: the replication connection asks for
 * text output in fixed styles (see SESSION_OPTIONS) and this module turns it into JSON that loses
 * nothing: 64-bit integers and numerics stay strings, timestamps keep their microseconds.
 * Anything it does not know stays Postgres' own text, which is always a faithful representation.
 */
import type { JsonValue } from '@evictd/schemas';
import { zonedTimeText } from '../types/canonical.js';

/** Session settings for the replication connection, so the text this module parses has one known shape. */
export const SESSION_OPTIONS = '-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex';

type Convert = (text: string) => JsonValue;

const asText: Convert = (text) => text;
const asInteger: Convert = (text) => Number(text);
const asBoolean: Convert = (text) => text === 't';
const asFloat: Convert = (text) => {
  const n = Number(text);
  // JSON has no NaN/Infinity: keep Postgres' spelling for those.
  return Number.isFinite(n) ? n : text;
};

/** bytea in hex output (`\x0a0b`) -> base64, as Debezium's JSON converter writes bytes. */
const asBytes: Convert = (text) => (text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : text);

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?$/;
const TIMESTAMPTZ = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

/** timestamp without time zone -> `YYYY-MM-DDTHH:MM:SS[.ffffff]` (infinity and BC dates stay as Postgres wrote them). */
const asTimestamp: Convert = (text) => (TIMESTAMP.test(text) ? text.replace(' ', 'T') : text);

/** timestamptz -> ISO-8601 in UTC with the original fraction: `2026-01-02T03:04:05.123456Z`. */
const asTimestampTz: Convert = (text) => {
  const m = TIMESTAMPTZ.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, frac = '', sign, oh, om = '0', os = '0'] = m;
  const offsetSeconds = (Number(oh) * 3600 + Number(om) * 60 + Number(os)) * (sign === '-' ? -1 : 1);
  const t = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  t.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  t.setUTCHours(Number(h), Number(mi), Number(s) - offsetSeconds, 0);
  const iso = t.toISOString();
  return `${iso.slice(0, iso.indexOf('.'))}${frac}Z`;
};

/**
 * timetz -> in UTC, `HH:MM:SS[.ffffff]Z`, as Debezium's ZonedTime: Debezium does not keep the
 * original offset, so the one form both sources can give is the UTC one.
 */
const asTimeTz: Convert = (text) => zonedTimeText(text) ?? text;

// Builtin type OIDs (pg_type.dat); their values are stable across Postgres versions.
const SCALARS: ReadonlyMap<number, Convert> = new Map<number, Convert>([
  [16, asBoolean], // bool
  [17, asBytes], // bytea
  [20, asText], // int8: beyond 2^53, so text
  [21, asInteger], // int2
  [23, asInteger], // int4
  [26, asInteger], // oid
  [700, asFloat], // float4
  [701, asFloat], // float8
  [1700, asText], // numeric: arbitrary precision, so text
  [114, asText], // json: its text, as Debezium sends it (re-encoding could change numbers)
  [3802, asText], // jsonb
  [1114, asTimestamp], // timestamp
  [1184, asTimestampTz], // timestamptz
  [1266, asTimeTz], // timetz
]);

// Array type OID -> element type OID, for the builtin arrays whose elements need converting.
const ARRAYS: ReadonlyMap<number, number> = new Map([
  [1000, 16], [1001, 17], [1016, 20], [1005, 21], [1007, 23], [1028, 26], [1021, 700], [1022, 701],
  [1231, 1700], [199, 114], [3807, 3802], [1115, 1114], [1185, 1184],
  // text-like elements: converted as text, listed so they come out as JSON arrays
  [1009, 25], [1015, 1043], [1014, 1042], [1003, 19], [2951, 2950], [1182, 1082], [1183, 1083], [1270, 1266],
  [1187, 1186], [791, 790], [1041, 869], [651, 650], [1040, 829], [143, 142], [1002, 18],
]);

function scalarConverter(typeOid: number): Convert {
  return SCALARS.get(typeOid) ?? asText;
}

/**
 * Converts one column value. `typeName` comes from pgoutput's Type message for non-builtin types:
 * an underscore prefix is Postgres' naming for array types (e.g. an array of an enum).
 */
export function convertValue(text: string, typeOid: number, typeName: string | null = null): JsonValue {
  const element = arrayElement(typeOid, typeName);
  if (element !== null && (ARRAYS.has(typeOid) || text.endsWith('}'))) return parseArray(text, scalarConverter(element));
  return scalarConverter(typeOid)(text);
}

/** The element type of an array column (text, OID 25, for arrays of non-builtin types), or null. */
export function arrayElement(typeOid: number, typeName: string | null): number | null {
  return ARRAYS.get(typeOid) ?? (typeName?.startsWith('_') ? 25 : null);
}

/**
 * Like convertValue, but to the value's JSON text (what JSON.stringify(convertValue(...)) gives),
 * chosen once per column: the publisher's encoder (encode.ts) writes it straight into the event.
 */
export function jsonConverter(typeOid: number, typeName: string | null = null): (text: string) => string {
  if (arrayElement(typeOid, typeName) !== null) return (text) => JSON.stringify(convertValue(text, typeOid, typeName));
  const convert = scalarConverter(typeOid);
  if (convert === asText) return (text) => JSON.stringify(text);
  if (convert === asBoolean) return (text) => (text === 't' ? 'true' : 'false');
  // int2/int4/oid output is canonical decimal, which is already the JSON of Number(text); anything else takes the slow way.
  if (convert === asInteger) return (text) => (CANONICAL_INT.test(text) ? text : JSON.stringify(asInteger(text)));
  return (text) => JSON.stringify(convert(text));
}

const CANONICAL_INT = /^-?(0|[1-9][0-9]{0,14})$/;

/**
 * Parses an array literal (`{1,NULL,"a \"b\""}`, nested `{{1,2},{3,4}}`, optional `[1:2]=` bounds)
 * into JSON arrays. Unquoted NULL is null; quoted elements are always values.
 */
export function parseArray(text: string, element: Convert): JsonValue {
  let i = 0;
  if (text.startsWith('[')) {
    const eq = text.indexOf('=');
    if (eq < 0) throw new Error(`invalid array literal ${JSON.stringify(text)}: bounds without "="`);
    i = eq + 1;
  }
  const fail = (why: string): never => {
    throw new Error(`invalid array literal ${JSON.stringify(text)} at ${i}: ${why}`);
  };
  const parseLevel = (): JsonValue[] => {
    if (text[i] !== '{') fail('expected "{"');
    i += 1;
    const out: JsonValue[] = [];
    if (text[i] === '}') {
      i += 1;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(parseLevel());
      } else if (text[i] === '"') {
        i += 1;
        let value = '';
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i += 1;
          value += text[i] ?? '';
          i += 1;
        }
        if (text[i] !== '"') fail('unterminated quoted element');
        i += 1;
        out.push(element(value));
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '}') i += 1;
        const raw = text.slice(start, i).trim();
        out.push(raw === 'NULL' ? null : element(raw));
      }
      if (text[i] === ',') i += 1;
      else if (text[i] === '}') {
        i += 1;
        return out;
      } else fail('expected "," or "}"');
    }
  };
  const result = parseLevel();
  if (i !== text.length) fail('trailing characters');
  return result;
}
