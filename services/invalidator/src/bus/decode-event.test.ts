import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent, type Decoded } from './decode-event.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const decode = (value: unknown, key: unknown = { id: 1 }): Decoded =>
  decodeEvent({ key: key === null ? null : json(key), value: value === null ? null : Buffer.isBuffer(value) ? value : json(value) });

const ours = {
  before: null,
  after: { id: 1, name: 'a', category_id: 2 },
  op: 'u',
  source: { connector: 'evictd', name: 'evictd', db: 'app', schema: 'public', table: 'products', txId: 7, lsn: 1234, ts_ms: 1764000000123, snapshot: 'false' },
  ts_ms: 1764000000125,
};

// Debezium PostgreSQL connector, JsonConverter with schemas.enable=true (abridged schema), update
// under REPLICA IDENTITY DEFAULT with a changed key, as in the connector's documentation.
const debeziumWrapped = {
  schema: { type: 'struct', optional: false, name: 'PostgreSQL_server.public.customers.Envelope', fields: [] },
  payload: {
    before: { id: 1 },
    after: { id: 1, first_name: 'Anne Marie', last_name: 'Kretchmar', email: 'annek@noanswer.org' },
    source: { version: '2.7.0.Final', connector: 'postgresql', name: 'PostgreSQL_server', ts_ms: 1559033904863, snapshot: 'false', db: 'postgres', sequence: '["24023119","24023128"]', schema: 'public', table: 'customers', txId: 556, lsn: 24023128, xmin: null },
    op: 'u',
    ts_ms: 1465584025523,
  },
};

test('decodes our envelope with its key', () => {
  const decoded = decode(ours);
  assert.equal(decoded.kind, 'change');
  assert.deepEqual(decoded.kind === 'change' && decoded.event, {
    op: 'u', table: 'public.products', before: null, after: ours.after, key: { id: 1 }, commitTsMs: 1764000000123, flush: false, typing: 'evictd', dropped: [],
  });
});

test('decodes Debezium with and without the {schema, payload} wrapper, key wrapped too', () => {
  const keyWrapped = { schema: { type: 'struct', fields: [] }, payload: { id: 1 } };
  for (const [value, key] of [[debeziumWrapped, keyWrapped], [debeziumWrapped.payload, { id: 1 }]] as const) {
    const decoded = decode(value, key);
    assert.equal(decoded.kind, 'change');
    if (decoded.kind !== 'change') return;
    assert.equal(decoded.event.table, 'public.customers');
    assert.equal(decoded.event.op, 'u');
    assert.deepEqual(decoded.event.before, { id: 1 });
    assert.deepEqual(decoded.event.key, { id: 1 });
    assert.equal(decoded.event.commitTsMs, 1559033904863);
  }
});

test('Debezium truncate events carry no row images', () => {
  const decoded = decode({ source: debeziumWrapped.payload.source, op: 't', ts_ms: 1 }, null);
  assert.equal(decoded.kind === 'change' && decoded.event.op, 't');
  assert.equal(decoded.kind === 'change' && decoded.event.key, null);
});

test('our lost-slot flush is a truncate with the flush flag', () => {
  const decoded = decode({ ...ours, op: 't', after: null, flush: { reason: 'lost_slot', slot: 'evictd', lastLsn: null } }, null);
  assert.equal(decoded.kind === 'change' && decoded.event.flush, true);
});

test('tombstones: null value, empty value, null payload', () => {
  assert.deepEqual(decode(null), { kind: 'tombstone' });
  assert.deepEqual(decode(Buffer.alloc(0)), { kind: 'tombstone' });
  assert.deepEqual(decode({ schema: null, payload: null }), { kind: 'tombstone' });
});

test('a key that is not a JSON object is ignored, not fatal', () => {
  const decoded = decodeEvent({ key: Buffer.from('not json'), value: json(ours) });
  assert.equal(decoded.kind === 'change' && decoded.event.key, null);
});

test('malformed messages say why', () => {
  const cases: Array<[unknown, RegExp]> = [
    [Buffer.from('{"op":'), /value is not valid JSON/],
    [[1, 2], /value is an array/],
    ['text', /value is a string/],
    [{ ...ours, op: 'x' }, /unknown op "x": expected one of c, u, d, t, r/],
    [{ ...ours, source: 'db' }, /"source" is missing or not an object/],
    [{ ...ours, source: { ...ours.source, table: '' } }, /"source\.schema" and "source\.table"/],
    [{ ...ours, after: null }, /op "u" needs "after" to be a row object/],
    [{ ...ours, op: 'd', before: null, after: null }, /op "d" needs "before"/],
    [{ ...ours, before: [1] }, /"before" must be an object or null/],
  ];
  for (const [value, reason] of cases) {
    const decoded = decode(value);
    assert.equal(decoded.kind, 'malformed', JSON.stringify(value));
    assert.match(decoded.kind === 'malformed' ? decoded.reason : '', reason);
  }
});

// Issue 14: Debezium writes int8 as a JSON number; JSON.parse made 9007199254740993 ...992 (another row's key).
test('a Debezium int8 beyond 2^53 keeps every digit, in the row and in the key, with and without schemas', () => {
  const big = '9007199254740993';
  const source = '"source":{"connector":"postgresql","name":"db","db":"app","schema":"public","table":"t","ts_ms":1,"txId":1,"lsn":1}';
  const payload = `{"before":null,"after":{"id":${big},"day":20455},"op":"c",${source},"ts_ms":2}`;
  const rowSchema = '{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"day"}],"optional":true,"field":"after"}';
  const withSchema = `{"schema":{"type":"struct","fields":[${rowSchema}],"optional":false,"name":"db.public.t.Envelope"},"payload":${payload}}`;
  const keyWithSchema = `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false},"payload":{"id":${big}}}`;
  const catalog = new Map([['public.t', new Map([['id', { name: 'int8' }], ['day', { name: 'date' }]])]]);
  const cases = [
    { value: withSchema, key: keyWithSchema, options: {}, typing: 'schema' },
    { value: payload, key: `{"id":${big}}`, options: { columnTypes: (t: string) => catalog.get(t) }, typing: 'catalog' },
  ];
  for (const c of cases) {
    const decoded = decodeEvent({ key: Buffer.from(c.key), value: Buffer.from(c.value) }, c.options);
    assert.equal(decoded.kind, 'change');
    if (decoded.kind !== 'change') continue;
    assert.equal(decoded.event.typing, c.typing);
    assert.deepEqual(decoded.event.after, { id: big, day: '2026-01-02' });
    assert.deepEqual(decoded.event.key, { id: big });
  }
  const untyped = decodeEvent({ key: Buffer.from(`{"id":${big}}`), value: Buffer.from(payload) });
  assert.ok(untyped.kind === 'change' && untyped.event.typing === 'untyped');
  assert.deepEqual(untyped.kind === 'change' && untyped.event.after, { id: big, day: 20455 }, 'untyped: as sent, int8 still exact');
});

test('a Debezium value whose key cannot be rebuilt is dropped with the reason (the template falls back)', () => {
  const value = Buffer.from('{"before":null,"after":{"id":1,"dur":2629800000000},"op":"c","source":{"connector":"postgresql","schema":"public","table":"t","ts_ms":1}}');
  const decoded = decodeEvent({ key: null, value }, { columnTypes: () => new Map([['id', { name: 'int4' }], ['dur', { name: 'interval' }]]) });
  assert.ok(decoded.kind === 'change');
  assert.deepEqual(decoded.event.after, { id: 1 });
  assert.deepEqual(decoded.event.dropped.map((d) => d.column), ['dur']);
  assert.match(decoded.event.dropped[0]?.reason ?? '', /interval\.handling\.mode=string/);
});
