import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOAST_UNAVAILABLE, validateChangeEvent } from '@evictd/schemas';
import { TransactionDecoder, keyOf, type PgoutputMessage, type Relation } from './decode.js';

const INT8 = 20, TEXT = 25, INT4 = 23, NUMERIC = 1700;
const products: Relation = {
  relationOid: 16401,
  schema: 'public',
  name: 'products',
  replicaIdentity: 'default',
  columns: [
    { name: 'id', flags: 1, typeOid: INT8, typeName: null },
    { name: 'name', flags: 0, typeOid: TEXT, typeName: null },
    { name: 'price', flags: 0, typeOid: NUMERIC, typeName: null },
    { name: 'category_id', flags: 0, typeOid: INT4, typeName: null },
  ],
  keyColumns: ['id'],
};
const full: Relation = { ...products, replicaIdentity: 'full', keyColumns: ['id', 'name', 'price', 'category_id'] };
const commitTime = 1764000000123456n; // µs since the epoch, as the library reads it
const begin: PgoutputMessage = { tag: 'begin', commitLsn: '0/20', commitTime, xid: -2 };
const commit: PgoutputMessage = { tag: 'commit', commitLsn: '0/20', commitEndLsn: '0/28', commitTime };
const options = { name: 'evictd', db: 'app', primaryKeys: new Map([['public.products', ['id']]]), now: () => 1764000000999 };

function run(...messages: PgoutputMessage[]) {
  const decoder = new TransactionDecoder(options);
  return messages.map((m, i) => decoder.decode(`0/${(16 + i).toString(16)}`, m));
}

function eventsOf(msg: PgoutputMessage) {
  const [, decoded] = run(begin, msg, commit);
  assert.equal(decoded?.kind, 'events');
  return decoded.kind === 'events' ? decoded.events : [];
}

test('begin/commit frame a transaction: xid unsigned, commit end LSN and event count reported', () => {
  const out = run(begin, { tag: 'insert', relation: products, new: { id: '1', name: 'a', price: '1.10', category_id: '3' } }, commit);
  assert.deepEqual(out[0], { kind: 'begin', xid: 4294967294, commitTimeMs: 1764000000123 });
  assert.deepEqual(out[2], { kind: 'commit', xid: 4294967294, commitEndLsn: 0x28n, commitTimeMs: 1764000000123, events: 1 });
});

test('each row change maps to the right op, before/after, key and source', () => {
  const cases: { name: string; msg: PgoutputMessage; op: string; before: unknown; after: unknown; key: unknown }[] = [
    {
      name: 'insert',
      msg: { tag: 'insert', relation: products, new: { id: '9007199254740993', name: 'a', price: '1.10', category_id: '3' } },
      op: 'c',
      before: null,
      after: { id: '9007199254740993', name: 'a', price: '1.10', category_id: 3 },
      key: { id: '9007199254740993' },
    },
    {
      name: 'update, key unchanged, replica identity default: no before',
      msg: { tag: 'update', relation: products, key: null, old: null, new: { id: '1', name: 'b', price: '2', category_id: null } },
      op: 'u',
      before: null,
      after: { id: '1', name: 'b', price: '2', category_id: null },
      key: { id: '1' },
    },
    {
      name: 'update that changes the key: before holds the old key only',
      msg: { tag: 'update', relation: products, key: { id: '1' }, old: null, new: { id: '2', name: 'b', price: '2', category_id: '4' } },
      op: 'u',
      before: { id: '1' },
      after: { id: '2', name: 'b', price: '2', category_id: 4 },
      key: { id: '2' },
    },
    {
      name: 'update with replica identity full and an unchanged TOAST value',
      msg: { tag: 'update', relation: full, key: null, old: { id: '1', name: undefined, price: '2', category_id: '3' }, new: { id: '1', name: undefined, price: '3', category_id: '4' } },
      op: 'u',
      before: { id: '1', name: TOAST_UNAVAILABLE, price: '2', category_id: 3 },
      after: { id: '1', name: TOAST_UNAVAILABLE, price: '3', category_id: 4 },
      key: { id: '1' },
    },
    {
      name: 'delete, replica identity default',
      msg: { tag: 'delete', relation: products, key: { id: '7' }, old: null },
      op: 'd',
      before: { id: '7' },
      after: null,
      key: { id: '7' },
    },
    {
      name: 'delete, replica identity full',
      msg: { tag: 'delete', relation: full, key: null, old: { id: '7', name: 'x', price: '1', category_id: '2' } },
      op: 'd',
      before: { id: '7', name: 'x', price: '1', category_id: 2 },
      after: null,
      key: { id: '7' },
    },
  ];
  for (const c of cases) {
    const [event, ...rest] = eventsOf(c.msg);
    assert.equal(rest.length, 0, c.name);
    assert.ok(event, c.name);
    assert.equal(event.value.op, c.op, c.name);
    assert.deepEqual(event.value.before, c.before, c.name);
    assert.deepEqual(event.value.after, c.after, c.name);
    assert.deepEqual(event.key, c.key, c.name);
    assert.deepEqual(event.value.source, { connector: 'evictd', name: 'evictd', db: 'app', schema: 'public', table: 'products', txId: 4294967294, lsn: 0x11, ts_ms: 1764000000123, snapshot: 'false' }, c.name);
    assert.equal(event.value.ts_ms, 1764000000999);
    assert.deepEqual(validateChangeEvent(event.value), [], c.name);
  }
});

test('truncate yields one keyless op t event per table', () => {
  const categories: Relation = { ...products, relationOid: 16402, name: 'categories' };
  const events = eventsOf({ tag: 'truncate', relations: [products, categories] });
  assert.deepEqual(events.map((e) => [e.table, e.key, e.value.op, e.value.before, e.value.after]), [
    ['products', null, 't', null, null],
    ['categories', null, 't', null, null],
  ]);
  for (const e of events) assert.deepEqual(validateChangeEvent(e.value), []);
});

test('messages out of order are errors, other message kinds are ignored', () => {
  const decoder = new TransactionDecoder(options);
  assert.throws(() => decoder.decode('0/1', { tag: 'insert', relation: products, new: { id: '1' } }), /outside a transaction/);
  assert.throws(() => decoder.decode('0/1', commit), /outside a transaction/);
  assert.deepEqual(decoder.decode('0/1', { tag: 'relation', ...products }), { kind: 'ignored' });
  decoder.decode('0/2', begin);
  assert.equal(decoder.inTransaction, true);
  assert.throws(() => decoder.decode('0/3', begin), /still open/);
  decoder.reset();
  assert.equal(decoder.inTransaction, false);
});

test('values that are not Postgres text output are refused, naming the column', () => {
  assert.throws(() => eventsOf({ tag: 'insert', relation: products, new: { id: 1 } }), /public\.products\.id: expected Postgres text output/);
});

test('keyOf prefers the primary key, falls back to the replica identity, else null', () => {
  const pk = new Map([['public.products', ['id']]]);
  assert.deepEqual(keyOf(full, { id: '1', name: 'a', price: '1', category_id: 1 }, pk), { id: '1' });
  assert.deepEqual(keyOf({ ...products, keyColumns: ['name'] }, { name: 'a' }, pk), { name: 'a' });
  assert.equal(keyOf({ ...products, keyColumns: [] }, { name: 'a' }, new Map()), null);
  assert.equal(keyOf(products, null, pk), null);
});
