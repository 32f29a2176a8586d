// Same row, two sources, one key: evictd's event value (cdc/pg-values from pgoutput's text) and
// Debezium 3.x's default JsonConverter value (types/debezium-fixtures.ts says which Debezium class
// writes each), through the field schema and through the catalog's column type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonValue } from '@evictd/schemas';
import { convertValue } from '../cdc/pg-values.js';
import { canonicalFromDebezium, zonedTimestampText, zonedTimeText, type ColumnType, type ConnectSchema } from './canonical.js';
import { INTERVAL_STRING_MODE, TYPE_FIXTURES } from './debezium-fixtures.js';
import { parseJsonLossless } from './lossless-json.js';

/** What a template renders for a value (rules' formatValue: strings as they are, the rest as JSON). */
const render = (value: JsonValue) => (typeof value === 'string' ? value : JSON.stringify(value));

/** The catalog's description of a fixture column, as rules/catalog.ts reads it. */
function columnType(sqlType: string): ColumnType {
  const names: Record<string, string> = {
    bigint: 'int8', smallint: 'int2', integer: 'int4', real: 'float4', 'double precision': 'float8', boolean: 'bool',
    text: 'text', uuid: 'uuid', date: 'date', time: 'time', timetz: 'timetz', timestamp: 'timestamp', timestamptz: 'timestamptz',
    interval: 'interval', bytea: 'bytea', jsonb: 'jsonb', json: 'json', numeric: 'numeric',
  };
  const base = sqlType.replace(' PRIMARY KEY', '');
  if (base.endsWith('[]')) {
    const element = columnType(base.slice(0, -2));
    return { name: `_${element.name}`, element };
  }
  if (base === 'mood') return { name: 'mood', isEnum: true };
  const m = /^(\w+(?: precision)?)(?:\((\d+)(?:,(\d+))?\))?$/.exec(base);
  const name = names[m?.[1] ?? ''];
  assert.ok(name, `no type for ${sqlType}`);
  const scale = name === 'numeric' ? (m?.[3] !== undefined ? Number(m[3]) : null) : m?.[2] !== undefined ? Number(m[2]) : null;
  return { name, scale };
}

const fromDebezium = (json: string, hint: { schema?: ConnectSchema; column?: ColumnType }) => canonicalFromDebezium(parseJsonLossless(json), hint);

for (const f of TYPE_FIXTURES) {
  test(`${f.column} ${f.sqlType}: evictd and Debezium's default JSON render "${f.rendered}"`, () => {
    const ours = convertValue(f.pgText, f.typeOid, f.typeName ?? null);
    assert.equal(render(ours), f.rendered, 'evictd');
    for (const [how, hint] of [['schema', { schema: f.schema }], ['catalog', { column: columnType(f.sqlType) }], ['both', { schema: f.schema, column: columnType(f.sqlType) }]] as const) {
      const theirs = fromDebezium(f.debezium, hint);
      if (f.fallback) {
        assert.equal(theirs.ok, false, `Debezium via ${how}: expected "cannot recover"`);
        continue;
      }
      assert.ok(theirs.ok, `Debezium via ${how}: ${theirs.ok ? '' : theirs.reason}`);
      assert.equal(render(theirs.value), f.rendered, `Debezium via ${how}`);
      assert.deepEqual(theirs.value, ours, `Debezium via ${how}: the same value, not only the same text`);
    }
  });
}

test('without schema or catalog, values stay as sent: the int8 still exact, the date as epoch days', () => {
  const id = fromDebezium('9007199254740993', {});
  assert.deepEqual(id, { ok: true, value: '9007199254740993' });
  assert.deepEqual(fromDebezium('20455', {}), { ok: true, value: 20455 });
});

test('interval.handling.mode=string gives Postgres iso_8601 text; numeric cannot', () => {
  const dur = TYPE_FIXTURES.find((f) => f.column === 'dur');
  assert.ok(dur);
  for (const hint of [{ schema: INTERVAL_STRING_MODE.schema }, { column: { name: 'interval' } }]) {
    assert.deepEqual(fromDebezium(INTERVAL_STRING_MODE.debezium, hint), { ok: true, value: dur.pgText });
  }
  const cases: [string, string][] = [
    ['P0Y0M0DT0H0M0S', 'PT0S'], ['P0Y0M3DT0H0M0S', 'P3D'], ['P0Y0M0DT-4H-5M-6.78S', 'PT-4H-5M-6.78S'], ['P0Y0M0DT0H0M0.5S', 'PT0.5S'], ['P-1Y0M0DT0H0M0S', 'P-1Y'],
  ];
  for (const [debezium, postgres] of cases) assert.deepEqual(fromDebezium(JSON.stringify(debezium), { column: { name: 'interval' } }), { ok: true, value: postgres }, debezium);
  const numeric = fromDebezium('2629800000000', { column: { name: 'interval' } });
  assert.equal(numeric.ok, false);
  assert.match(numeric.ok ? '' : numeric.reason, /interval\.handling\.mode=string/);
});

test('decimal.handling.mode string and double, and the unconstrained numeric Debezium strips', () => {
  const price: ColumnType = { name: 'numeric', scale: 2 };
  assert.deepEqual(fromDebezium('"12.50"', { schema: { type: 'string' }, column: price }), { ok: true, value: '12.50' }, 'string: BigDecimal.toPlainString');
  assert.deepEqual(fromDebezium('"12.50"', { column: price }), { ok: true, value: '12.50' });
  assert.deepEqual(fromDebezium('12.5', { column: price }), { ok: true, value: '12.50' }, 'double: padded to the declared scale');
  assert.deepEqual(fromDebezium('12.5', { schema: { type: 'float64' } }), { ok: true, value: 12.5 }, 'double without the catalog: a float');
  // numeric without scale, precise: PostgresValueConverter.convertDecimal strips trailing zeros
  // before VariableScaleDecimal.fromLogical, so 12.50 arrives as {scale: 1, value: 125}.
  assert.deepEqual(fromDebezium('{"scale":1,"value":"fQ=="}', { column: { name: 'numeric' } }), { ok: true, value: '12.5' });
  assert.deepEqual(fromDebezium('{"scale":0,"value":"BLA="}', { column: { name: 'numeric' } }), { ok: true, value: '1200' });
  assert.equal(fromDebezium('"not base64!"', { column: price }).ok, false);
});

test('time.precision.mode connect, adaptive_time_microseconds and isostring', () => {
  const connectTime = { type: 'int32', name: 'org.apache.kafka.connect.data.Time' };
  assert.deepEqual(fromDebezium('11045123', { schema: connectTime, column: { name: 'time' } }), { ok: true, value: '03:04:05.123' });
  assert.deepEqual(fromDebezium('1767323045123', { schema: { type: 'int64', name: 'org.apache.kafka.connect.data.Timestamp' } }), { ok: true, value: '2026-01-02T03:04:05.123' });
  assert.deepEqual(fromDebezium('11045120000', { schema: { type: 'int64', name: 'io.debezium.time.MicroTime' }, column: { name: 'time', scale: 3 } }), { ok: true, value: '03:04:05.12' });
  assert.deepEqual(fromDebezium('"2026-01-02T03:04:05.123456Z"', { schema: { type: 'string', name: 'io.debezium.time.IsoTimestamp' } }), { ok: true, value: '2026-01-02T03:04:05.123456' });
  assert.deepEqual(fromDebezium('"2026-01-02Z"', { schema: { type: 'string', name: 'io.debezium.time.IsoDate' } }), { ok: true, value: '2026-01-02' });
  assert.deepEqual(fromDebezium('"03:04:05.123456Z"', { schema: { type: 'string', name: 'io.debezium.time.IsoTime' } }), { ok: true, value: '03:04:05.123456' });
  assert.deepEqual(fromDebezium('86400000000', { column: { name: 'time' } }), { ok: true, value: '24:00:00' });
  // beyond 2^53 microseconds (year 2255): exact, through the lossless parse and BigInt arithmetic
  assert.deepEqual(fromDebezium('9007199254740993', { column: { name: 'timestamp' } }), { ok: true, value: '2255-06-05T23:47:34.740993' });
  assert.deepEqual(fromDebezium('-1', { column: { name: 'timestamp' } }), { ok: true, value: '1969-12-31T23:59:59.999999' });
  assert.deepEqual(fromDebezium('-719528', { column: { name: 'date' } }), { ok: true, value: '0001-01-01 BC' });
});

test('binary.handling.mode hex (with its string schema) and base64-url-safe', () => {
  assert.deepEqual(fromDebezium('"00ff10"', { schema: { type: 'string' }, column: { name: 'bytea' } }), { ok: true, value: 'AP8Q' });
  assert.deepEqual(fromDebezium('"_-8="', { column: { name: 'bytea' } }), { ok: true, value: '/+8=' });
});

test('zoned times and timestamps normalize to UTC with the fraction Postgres would print', () => {
  assert.equal(zonedTimestampText('2026-01-03T02:00:00.000000+02:00'), '2026-01-03T00:00:00Z');
  assert.equal(zonedTimestampText('2026-01-03T00:00Z'), '2026-01-03T00:00:00Z');
  assert.equal(zonedTimestampText('infinity'), 'infinity');
  assert.equal(zonedTimestampText('2026-01-03 00:00:00'), null);
  assert.equal(zonedTimeText('23:30:00-02'), '01:30:00Z');
  assert.equal(zonedTimeText('00:15:00+05:30'), '18:45:00Z');
  assert.equal(zonedTimeText('03:04:05.100000Z'), '03:04:05.1Z');
});

test('money cannot be rebuilt from Debezium\'s decimal; unchanged TOAST values stay marked', () => {
  assert.equal(fromDebezium('"BNM="', { column: { name: 'money' } }).ok, false);
  assert.deepEqual(fromDebezium('"__debezium_unavailable_value"', { column: { name: 'text' } }), { ok: true, value: '__debezium_unavailable_value' });
});
