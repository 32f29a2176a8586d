/**
 * One row of every common Postgres type, as evictd's publisher receives it (Postgres' text output
 * in evictd's session styles, cdc/pg-values SESSION_OPTIONS) and as Debezium 3.x's PostgreSQL
 * connector writes it through Kafka Connect's JsonConverter with its defaults
 * (decimal.handling.mode=precise, time.precision.mode=adaptive, binary.handling.mode=bytes,
 * interval.handling.mode=numeric), with the field schema it writes when schemas.enable=true.
 * Shared by the unit tests (types/canonical.test.ts) and the integration test
 * (test/integration/invalidate-debezium.test.ts), which also checks `pgText` against a real
 * Postgres.
 *
 * Where each Debezium form comes from (debezium-connector-postgres PostgresValueConverter picks
 * the schema per type OID; the classes named below build it; JsonConverter writes int64 as a JSON
 * number, bytes and Decimal as base64 of the unscaled two's-complement bytes):
 * - int2/int4/int8: JdbcValueConverters (INT16/INT32/INT64), JSON numbers, int8 beyond 2^53 too
 * - numeric(p,s): SpecialValueDecimal.builder -> org.apache.kafka.connect.data.Decimal (parameter "scale")
 * - numeric: VariableScaleDecimal {scale, value} (PostgresValueConverter.numericSchema, precise mode)
 * - float4/float8: FLOAT32/FLOAT64; bool: BOOLEAN
 * - date: io.debezium.time.Date (epoch days); time(p<=3): io.debezium.time.Time (ms), time: MicroTime (us)
 * - timetz: io.debezium.time.ZonedTime (ISO_OFFSET_TIME, shifted to UTC by convertTimeWithZone)
 * - timestamp(p<=3): io.debezium.time.Timestamp (ms), timestamp: MicroTimestamp (us)
 * - timestamptz: io.debezium.time.ZonedTimestamp (UTC, fraction padded to the column's precision)
 * - interval: io.debezium.time.MicroDuration (approximate us); string mode: io.debezium.time.Interval
 * - bytea: BYTES (binary.handling.mode=bytes); json/jsonb: io.debezium.data.Json; uuid: io.debezium.data.Uuid
 * - enums: io.debezium.data.Enum (parameter "allowed"); arrays: ARRAY of the element's schema
 */
import type { ConnectSchema } from './canonical.js';

export interface TypeFixture {
  /** Column name in the fixture table. */
  readonly column: string;
  /** Its SQL type (`mood` is the fixture's enum type). */
  readonly sqlType: string;
  /** SQL literal inserted. */
  readonly sql: string;
  /** What pgoutput sends evictd for it (evictd's session styles). */
  readonly pgText: string;
  /** Type OID as pgoutput's Relation message gives it (0: look it up by typeName, an enum). */
  readonly typeOid: number;
  readonly typeName?: string;
  /** Debezium's JSON for the value, as text (JSON.stringify would round the int8). */
  readonly debezium: string;
  /** Debezium's field schema (schemas.enable=true). */
  readonly schema: ConnectSchema;
  /** The key text the template `{column}` renders, from either source. */
  readonly rendered: string;
  /** Set where Debezium's default form cannot give the key back: the column is dropped and templates fall back. */
  readonly fallback?: true;
}

const s = (type: string, name?: string, extra: Partial<ConnectSchema> = {}): ConnectSchema => ({ type, optional: true, ...(name ? { name, version: 1 } : {}), ...extra });

export const BIG_ID = '9007199254740993';

export const TYPE_FIXTURES: readonly TypeFixture[] = [
  { column: 'id', sqlType: 'bigint PRIMARY KEY', sql: BIG_ID, pgText: BIG_ID, typeOid: 20, debezium: BIG_ID, schema: { type: 'int64', optional: false }, rendered: BIG_ID },
  { column: 'i2', sqlType: 'smallint', sql: '-32768', pgText: '-32768', typeOid: 21, debezium: '-32768', schema: s('int16'), rendered: '-32768' },
  { column: 'i4', sqlType: 'integer', sql: '2147483647', pgText: '2147483647', typeOid: 23, debezium: '2147483647', schema: s('int32'), rendered: '2147483647' },
  { column: 'i8', sqlType: 'bigint', sql: '-9223372036854775808', pgText: '-9223372036854775808', typeOid: 20, debezium: '-9223372036854775808', schema: s('int64'), rendered: '-9223372036854775808' },
  {
    column: 'price', sqlType: 'numeric(10,2)', sql: '12.35', pgText: '12.35', typeOid: 1700, debezium: '"BNM="',
    schema: s('bytes', 'org.apache.kafka.connect.data.Decimal', { parameters: { scale: '2', 'connect.decimal.precision': '10' } }), rendered: '12.35',
  },
  {
    column: 'price0', sqlType: 'numeric(10,2)', sql: '12.50', pgText: '12.50', typeOid: 1700, debezium: '"BOI="',
    schema: s('bytes', 'org.apache.kafka.connect.data.Decimal', { parameters: { scale: '2', 'connect.decimal.precision': '10' } }), rendered: '12.50',
  },
  {
    column: 'tiny', sqlType: 'numeric(6,3)', sql: '-0.005', pgText: '-0.005', typeOid: 1700, debezium: '"+w=="',
    schema: s('bytes', 'org.apache.kafka.connect.data.Decimal', { parameters: { scale: '3', 'connect.decimal.precision': '6' } }), rendered: '-0.005',
  },
  {
    column: 'amount', sqlType: 'numeric', sql: '1200.5', pgText: '1200.5', typeOid: 1700, debezium: '{"scale":1,"value":"LuU="}',
    schema: s('struct', 'io.debezium.data.VariableScaleDecimal', { fields: [{ type: 'int32', optional: false, field: 'scale' }, { type: 'bytes', optional: false, field: 'value' }] }), rendered: '1200.5',
  },
  { column: 'f4', sqlType: 'real', sql: '1.1', pgText: '1.1', typeOid: 700, debezium: '1.1', schema: s('float32'), rendered: '1.1' },
  { column: 'f8', sqlType: 'double precision', sql: '1.5e-7', pgText: '1.5e-07', typeOid: 701, debezium: '1.5E-7', schema: s('float64'), rendered: '1.5e-7' },
  { column: 'flag', sqlType: 'boolean', sql: 'true', pgText: 't', typeOid: 16, debezium: 'true', schema: s('boolean'), rendered: 'true' },
  { column: 'label', sqlType: 'text', sql: `'Zoë 🚀 "q"'`, pgText: 'Zoë 🚀 "q"', typeOid: 25, debezium: '"Zoë 🚀 \\"q\\""', schema: s('string'), rendered: 'Zoë 🚀 "q"' },
  {
    column: 'uid', sqlType: 'uuid', sql: `'0e3f7c2a-9b1d-4c5e-8f60-1a2b3c4d5e6f'`, pgText: '0e3f7c2a-9b1d-4c5e-8f60-1a2b3c4d5e6f', typeOid: 2950,
    debezium: '"0e3f7c2a-9b1d-4c5e-8f60-1a2b3c4d5e6f"', schema: s('string', 'io.debezium.data.Uuid'), rendered: '0e3f7c2a-9b1d-4c5e-8f60-1a2b3c4d5e6f',
  },
  { column: 'day', sqlType: 'date', sql: `'2026-01-02'`, pgText: '2026-01-02', typeOid: 1082, debezium: '20455', schema: s('int32', 'io.debezium.time.Date'), rendered: '2026-01-02' },
  { column: 't', sqlType: 'time', sql: `'03:04:05.123456'`, pgText: '03:04:05.123456', typeOid: 1083, debezium: '11045123456', schema: s('int64', 'io.debezium.time.MicroTime'), rendered: '03:04:05.123456' },
  { column: 't3', sqlType: 'time(3)', sql: `'03:04:05.12'`, pgText: '03:04:05.12', typeOid: 1083, debezium: '11045120', schema: s('int32', 'io.debezium.time.Time'), rendered: '03:04:05.12' },
  { column: 'ttz', sqlType: 'timetz', sql: `'03:04:05.5+02'`, pgText: '03:04:05.5+02', typeOid: 1266, debezium: '"01:04:05.5Z"', schema: s('string', 'io.debezium.time.ZonedTime'), rendered: '01:04:05.5Z' },
  {
    column: 'ts', sqlType: 'timestamp', sql: `'2026-01-02 03:04:05.123456'`, pgText: '2026-01-02 03:04:05.123456', typeOid: 1114,
    debezium: '1767323045123456', schema: s('int64', 'io.debezium.time.MicroTimestamp'), rendered: '2026-01-02T03:04:05.123456',
  },
  {
    column: 'ts3', sqlType: 'timestamp(3)', sql: `'2026-01-02 03:04:05.123'`, pgText: '2026-01-02 03:04:05.123', typeOid: 1114,
    debezium: '1767323045123', schema: s('int64', 'io.debezium.time.Timestamp'), rendered: '2026-01-02T03:04:05.123',
  },
  {
    column: 'at', sqlType: 'timestamptz', sql: `'2026-01-03 00:00:00+00'`, pgText: '2026-01-03 00:00:00+00', typeOid: 1184,
    debezium: '"2026-01-03T00:00:00.000000Z"', schema: s('string', 'io.debezium.time.ZonedTimestamp'), rendered: '2026-01-03T00:00:00Z',
  },
  {
    column: 'at2', sqlType: 'timestamptz', sql: `'2026-01-03 03:02:03.45+02'`, pgText: '2026-01-03 01:02:03.45+00', typeOid: 1184,
    debezium: '"2026-01-03T01:02:03.450000Z"', schema: s('string', 'io.debezium.time.ZonedTimestamp'), rendered: '2026-01-03T01:02:03.45Z',
  },
  {
    column: 'dur', sqlType: 'interval', sql: `'1 year 2 mons 3 days 04:05:06.78'`, pgText: 'P1Y2M3DT4H5M6.78S', typeOid: 1186,
    // MicroDuration.durationMicros(1, 2, 3, 4, 5, 6.78, DAYS_PER_MONTH_AVG)
    debezium: '37091106780000', schema: s('int64', 'io.debezium.time.MicroDuration'), rendered: 'P1Y2M3DT4H5M6.78S', fallback: true,
  },
  { column: 'bin', sqlType: 'bytea', sql: `'\\x00ff10'`, pgText: '\\x00ff10', typeOid: 17, debezium: '"AP8Q"', schema: s('bytes'), rendered: 'AP8Q' },
  {
    column: 'doc', sqlType: 'jsonb', sql: `'{"b": [1, 2], "a": "x"}'`, pgText: '{"a": "x", "b": [1, 2]}', typeOid: 3802,
    debezium: '"{\\"a\\": \\"x\\", \\"b\\": [1, 2]}"', schema: s('string', 'io.debezium.data.Json'), rendered: '{"a": "x", "b": [1, 2]}',
  },
  { column: 'raw', sqlType: 'json', sql: `'{"n":1}'`, pgText: '{"n":1}', typeOid: 114, debezium: '"{\\"n\\":1}"', schema: s('string', 'io.debezium.data.Json'), rendered: '{"n":1}' },
  { column: 'words', sqlType: 'text[]', sql: `'{a,"b c"}'`, pgText: '{a,"b c"}', typeOid: 1009, debezium: '["a","b c"]', schema: s('array', undefined, { items: s('string') }), rendered: '["a","b c"]' },
  {
    column: 'bigs', sqlType: 'bigint[]', sql: `'{${BIG_ID},1}'`, pgText: `{${BIG_ID},1}`, typeOid: 1016, debezium: `[${BIG_ID},1]`,
    schema: s('array', undefined, { items: s('int64') }), rendered: `["${BIG_ID}","1"]`,
  },
  { column: 'days', sqlType: 'date[]', sql: `'{2026-01-02}'`, pgText: '{2026-01-02}', typeOid: 1182, debezium: '[20455]', schema: s('array', undefined, { items: s('int32', 'io.debezium.time.Date') }), rendered: '["2026-01-02"]' },
  {
    column: 'mood', sqlType: 'mood', sql: `'happy'`, pgText: 'happy', typeOid: 0, typeName: 'mood', debezium: '"happy"',
    schema: s('string', 'io.debezium.data.Enum', { parameters: { allowed: 'sad,happy' } }), rendered: 'happy',
  },
];

/** The same row with interval.handling.mode=string: io.debezium.time.Interval.toIsoString. */
export const INTERVAL_STRING_MODE = { debezium: '"P1Y2M3DT4H5M6.78S"', schema: s('string', 'io.debezium.time.Interval') } as const;
