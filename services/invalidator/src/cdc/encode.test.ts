import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeEvents, keyOf, type Relation, type RelationColumn } from './decode.js';
import { encodeRowChange, type EncodeContext, type RowChangeMessage } from './encode.js';
import { lsnJsonText, lsnToJson, parseLsn } from './lsn.js';

const col = (name: string, typeOid: number, typeName: string | null = null): RelationColumn => ({ name, flags: 0, typeOid, typeName });
// One column of each converter kind: int4, int8 (text), bool, text with escapes, float8, numeric,
// bytea, timestamptz, json, an int4[] and an array of an enum (typeName with "_").
const columns = [col('id', 23), col('big', 20), col('ok', 16), col('name', 25), col('f', 701), col('n', 1700), col('b', 17), col('at', 1184), col('doc', 114), col('ints', 1007), col('moods', 99001, '_mood'), col('small', 21)];
const relation: Relation = { relationOid: 1, schema: 'public', name: 'things', replicaIdentity: 'default', columns, keyColumns: ['id'] };
const full: Relation = { ...relation, replicaIdentity: 'full', keyColumns: columns.map((c) => c.name) };
const row = { id: '42', big: '9007199254740993', ok: 't', name: 'a "quoted" \\ name\n\u2028é', f: 'NaN', n: '1.10', b: '\\x0aff', at: '2026-01-02 03:04:05.123456+02', doc: '{"a": 1}', ints: '{1,NULL,3}', moods: '{happy,"so \\"sad\\""}', small: '-7' };
const ctx = (lsn: string, over: Partial<EncodeContext> = {}): EncodeContext => ({ name: 'shop', db: 'app', lsn, txId: 4294967294, commitTimeMs: 1764000000123, nowMs: 1764000000999, primaryKeys: new Map([['public.things', ['id']]]), ...over });

/** What the decoder's objects give through JSON.stringify: the reference encode.ts must equal. */
function reference(msg: RowChangeMessage, c: EncodeContext): { key: string | null; value: string } {
  const [event] = changeEvents(msg, { name: c.name, db: c.db, primaryKeys: c.primaryKeys, now: () => c.nowMs, lsn: lsnToJson(parseLsn(c.lsn)), txId: c.txId, commitTimeMs: c.commitTimeMs });
  const key = keyOf(msg.relation, event!.value.after ?? event!.value.before, c.primaryKeys);
  return { key: key ? JSON.stringify(key) : null, value: JSON.stringify(event!.value) };
}

const cases: { name: string; msg: RowChangeMessage; c?: Partial<EncodeContext> }[] = [
  { name: 'insert, every value kind', msg: { tag: 'insert', relation, new: row } },
  { name: 'update with a key tuple (key column only)', msg: { tag: 'update', relation, key: { id: '41' }, old: null, new: row } },
  { name: 'update without old image', msg: { tag: 'update', relation, key: null, old: null, new: { ...row, ok: 'f', f: '-1.5e+300' } } },
  { name: 'update with REPLICA IDENTITY FULL, NULLs and an unchanged TOAST value', msg: { tag: 'update', relation: full, key: null, old: { ...row, name: null }, new: { ...row, doc: undefined } } },
  { name: 'delete with the key only', msg: { tag: 'delete', relation, key: { id: '42' }, old: null } },
  { name: 'delete with the full old row', msg: { tag: 'delete', relation: full, key: null, old: row } },
  { name: 'first column absent from the tuple', msg: { tag: 'delete', relation: { ...relation, keyColumns: ['name'] }, key: { name: 'x' }, old: null }, c: { primaryKeys: new Map() } },
  { name: 'no usable key: null key', msg: { tag: 'insert', relation: { ...relation, keyColumns: [] }, new: row }, c: { primaryKeys: new Map() } },
  { name: 'primary key from the catalog, not the replica identity', msg: { tag: 'insert', relation: full, new: row }, c: { primaryKeys: new Map([['public.things', ['big', 'id']]]) } },
  { name: 'binary value', msg: { tag: 'insert', relation, new: { ...row, b: new Uint8Array([1, 2, 255]) } } },
  { name: 'array-index column names (the reference path)', msg: { tag: 'insert', relation: { ...relation, columns: [col('2', 23), col('id', 23)] }, new: { 2: '5', id: '1' } } },
  { name: 'LSN beyond 2^53 (a decimal string)', msg: { tag: 'insert', relation, new: row }, c: { lsn: 'FFFFFFFF/10' } },
];

for (const { name, msg, c: over } of cases) {
  test(`encodeRowChange equals JSON.stringify of the decoded event: ${name}`, () => {
    const c = ctx('1/16B3748', over);
    const got = encodeRowChange(msg, c);
    const want = reference(msg, c);
    assert.equal(got.value, want.value);
    assert.equal(got.key, want.key);
    assert.equal(got.topic, 'shop.public.things');
    assert.equal(got.table, 'public.things');
  });
}

test('a value the stream module should never hand over (not text) is an error naming the column', () => {
  assert.throws(() => encodeRowChange({ tag: 'insert', relation, new: { ...row, name: 5 } }, ctx('0/1')), /public\.things\.name: expected Postgres text output/);
});

test('lsnJsonText: the JSON of lsnToJson(parseLsn(x)), and as strict', () => {
  for (const lsn of ['0/0', '0/16B3748', '1FFFFF/FFFFFFFF', '200000/0', 'FFFFFFFF/FFFFFFFF']) assert.equal(lsnJsonText(lsn), JSON.stringify(lsnToJson(parseLsn(lsn))), lsn);
  assert.throws(() => lsnJsonText('16B3748'), /invalid LSN/);
});
