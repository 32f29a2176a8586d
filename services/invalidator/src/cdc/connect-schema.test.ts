import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent } from '../bus/decode-event.js';
import { changeEvents, type Relation } from './decode.js';
import { toMessage } from './pipeline.js';

const relation: Relation = {
  relationOid: 1,
  schema: 'public',
  name: 'items',
  replicaIdentity: 'full',
  keyColumns: ['id'],
  columns: [
    { name: 'id', flags: 1, typeOid: 23, typeName: null },
    { name: 'big', flags: 0, typeOid: 20, typeName: null },
    { name: 'price', flags: 0, typeOid: 1700, typeName: null },
    { name: 'ok', flags: 0, typeOid: 16, typeName: null },
    { name: 'at', flags: 0, typeOid: 1184, typeName: null },
    { name: 'raw', flags: 0, typeOid: 17, typeName: null },
    { name: 'doc', flags: 0, typeOid: 3802, typeName: null },
    { name: 'labels', flags: 0, typeOid: 1009, typeName: null },
    { name: 'mood', flags: 0, typeOid: 90001, typeName: 'mood' },
  ],
};
const row = { id: '7', big: '9007199254740993', price: '12.50', ok: 't', at: '2026-01-03 01:00:00+01', raw: '\\x00ff', doc: '{"a": 1}', labels: '{a,"b c"}', mood: 'happy' };
const [event] = changeEvents({ tag: 'insert', relation, new: row }, { name: 'shop', db: 'app', primaryKeys: new Map(), now: () => 5, lsn: 99, txId: 3, commitTimeMs: 4 });

type Field = { field: string; type: string; optional: boolean; name?: string; items?: { type: string }; fields?: Field[] };

test('publish.schemas wraps key and value as JsonConverter does, with one field schema per column', () => {
  const message = toMessage('shop', event!, true);
  assert.equal(message.topic, 'shop.public.items');
  const value = JSON.parse(message.value) as { schema: { name: string; fields: Field[] }; payload: unknown };
  assert.deepEqual(value.payload, event!.value, 'the payload is the plain event');
  assert.equal(value.schema.name, 'shop.public.items.Envelope');
  const after = value.schema.fields.find((f) => f.field === 'after')!;
  const types = Object.fromEntries(after.fields!.map((f) => [f.field, [f.type, f.name ?? '', f.optional]]));
  assert.deepEqual(types, {
    id: ['int32', '', false],
    big: ['string', '', true],
    price: ['string', '', true],
    ok: ['boolean', '', true],
    at: ['string', 'io.debezium.time.ZonedTimestamp', true],
    raw: ['bytes', '', true],
    doc: ['string', 'io.debezium.data.Json', true],
    labels: ['array', '', true],
    mood: ['string', '', true],
  });
  assert.equal(after.fields!.find((f) => f.field === 'labels')!.items!.type, 'string');
  const key = JSON.parse(message.key!) as { schema: { fields: Field[] }; payload: unknown };
  assert.deepEqual(key.payload, { id: 7 });
  assert.deepEqual(key.schema.fields.map((f) => [f.field, f.type, f.optional]), [['id', 'int32', false]]);
});

test('evictd invalidate reads the wrapped form exactly as the plain one', () => {
  const plain = toMessage('shop', event!, false);
  const wrapped = toMessage('shop', event!, true);
  const read = (m: { key: string | null; value: string }) => decodeEvent({ key: m.key === null ? null : Buffer.from(m.key), value: Buffer.from(m.value) });
  assert.deepEqual(read(wrapped), read(plain));
  assert.equal(read(wrapped).kind, 'change');
});

test('table-wide events carry a schema too, with no key', () => {
  const [truncate] = changeEvents({ tag: 'truncate', relations: [relation] }, { name: 'shop', db: 'app', primaryKeys: new Map(), now: () => 5, lsn: 99, txId: 3, commitTimeMs: 4 });
  const message = toMessage('shop', truncate!, true);
  assert.equal(message.key, null);
  assert.equal(message.partition, 0);
  const flush = toMessage('shop', { schema: 'public', table: 'items', key: null, value: { ...truncate!.value, flush: { reason: 'lost_slot', slot: 's', lastLsn: null } } }, true);
  const parsed = JSON.parse(flush.value) as { schema: { fields: Field[] }; payload: { flush: unknown } };
  assert.deepEqual(parsed.payload.flush, { reason: 'lost_slot', slot: 's', lastLsn: null });
  assert.deepEqual(parsed.schema.fields.find((f) => f.field === 'after')!.fields, []);
});
