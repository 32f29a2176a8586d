// publish.schemas against real Postgres and Kafka, read back by Kafka Connect's own JsonConverter
// (schemas.enable=true, as every Connect sink and Debezium-schema consumer reads): every key and
// value converts, and converts back to exactly what evictd wrote. The invalidator decodes the
// wrapped form to the same change as the plain one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { guardChild, javaBinary } from '@evictd/infra';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { decodeEvent } from '../../services/invalidator/src/bus/decode-event.js';
import { dropSlot, publishConfig, readTopics, startPublisher, testKafka, type Received } from './publish-helpers.js';

const CHECK = fileURLToPath(new URL('../connect/JsonConverterCheck.java', import.meta.url));
const KAFKA_LIB = fileURLToPath(new URL('../../infra/kafka/lib/*', import.meta.url));

const env = stackEnv();
const ns = uniqueName('pub_connect');
const table = `${ns}_kinds`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
let role: Role;
let reader: Awaited<ReturnType<typeof readTopics>>;

before(async () => {
  await db.connect();
  await db.query(`CREATE TYPE ${ns}_mood AS ENUM ('happy', 'sad')`);
  await db.query(`CREATE TABLE ${table} (
    id bigint PRIMARY KEY, n numeric(12,2), i int, s smallint, f float8, r real, b boolean, t text, ts timestamp, tstz timestamptz,
    d date, tm time, tmtz timetz, iv interval, j json, jb jsonb, arr int[], tags text[], blob bytea, u uuid, mood ${ns}_mood)`);
  ({ role } = await startPublisher(publishConfig(env, ns, `  public.${table}: { keys: ["k:{id}"] }`, { publish: 'lingerMs: 2, schemas: true' })));
  reader = await readTopics(testKafka(env), [`${ns}.public.${table}`], ns);
});

after(async () => {
  await reader?.stop();
  await role?.stop();
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`DROP TYPE IF EXISTS ${ns}_mood`);
  await db.end();
});

/** Each document through JsonConverter.toConnectData and back (test/connect/JsonConverterCheck.java). */
async function throughJsonConverter(documents: string[]): Promise<string[]> {
  const child = spawn(javaBinary(), ['-cp', KAFKA_LIB, CHECK], { stdio: ['pipe', 'pipe', 'pipe'] });
  guardChild(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdin.end(documents.map((d) => `${d}\n`).join(''));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `JsonConverterCheck failed: ${err.slice(-2000)}`);
  return out.trimEnd().split('\n');
}

/**
 * Connect writes every field of a struct: one evictd leaves out (`flush` on ordinary events, the
 * non-key columns of a delete's `before` under REPLICA IDENTITY DEFAULT) comes back as null, which
 * is how Debezium writes them too. Drops exactly those nulls, recursively, so the rest compares.
 */
function withoutAddedNulls(back: unknown, sent: unknown): unknown {
  if (back === null || typeof back !== 'object' || Array.isArray(back) || sent === null || typeof sent !== 'object' || Array.isArray(sent)) return back;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(back)) {
    if (v === null && !Object.hasOwn(sent, k)) continue;
    out[k] = withoutAddedNulls(v, (sent as Record<string, unknown>)[k]);
  }
  return out;
}

test('every key and value evictd writes with publish.schemas converts through JsonConverter and back unchanged', async () => {
  await db.query(`INSERT INTO ${table} VALUES (9007199254740993, 12.50, -7, 3, 1.5, 2.25, true, 'héllo ✓', '2026-01-02 03:04:05.123456',
    '2026-01-03 01:00:00+01', '2026-01-02', '03:04:05.5', '03:04:05+02', '1 year 2 mons 3 days 04:05:06.78', '{"a": [1, 2]}', '{"b": true}',
    '{1,2,NULL}', '{a,"b c"}', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy')`);
  await db.query(`UPDATE ${table} SET t = 'changed', i = NULL WHERE id = 9007199254740993`);
  await db.query(`DELETE FROM ${table} WHERE id = 9007199254740993`);
  await db.query(`TRUNCATE ${table}`);
  const messages: Received[] = await waitFor(() => reader.messages.length >= 4 && reader.messages, { timeoutMs: 30_000, what: 'four events' });

  const documents = messages.flatMap((m) => [m.value, m.key].filter((d) => d !== null).map((d) => JSON.stringify(d)));
  const results = await throughJsonConverter(documents);
  assert.equal(results.length, documents.length);
  results.forEach((line, i) => {
    assert.ok(line.startsWith('ok '), `JsonConverter refused ${documents[i]!.slice(0, 300)}: ${line}`);
    // What Connect reads is what evictd wrote: every field typed so that nothing is coerced.
    const back = JSON.parse(line.slice(3)) as { payload: unknown };
    const sent = (JSON.parse(documents[i]!) as { payload: unknown }).payload;
    assert.deepEqual(withoutAddedNulls(back.payload, sent), sent, `changed by the round trip: ${documents[i]!.slice(0, 300)}`);
  });

  // Arrival order is per partition only: the keyless TRUNCATE's partition may be read first.
  type Envelope = { schema: { name: string }; payload: { op: string; after: Record<string, unknown> } };
  const insert = messages.find((m) => (m.value as Envelope | null)?.payload.op === 'c');
  assert.ok(insert, `no insert among ${messages.length} events`);
  const value = insert.value as Envelope;
  assert.equal(value.schema.name, `${ns}.public.${table}.Envelope`);
  assert.equal(value.payload.after.id, '9007199254740993');
  assert.deepEqual((insert.key as { payload: unknown }).payload, { id: '9007199254740993' });

  // The invalidator: the wrapped message decodes to the same change as its bare payload.
  for (const m of messages) {
    const raw = (v: unknown) => (v === null ? null : Buffer.from(JSON.stringify(v)));
    const bare = (v: unknown) => (v === null ? null : Buffer.from(JSON.stringify((v as { payload: unknown }).payload)));
    assert.deepEqual(decodeEvent({ key: raw(m.key), value: raw(m.value) }), decodeEvent({ key: bare(m.key), value: bare(m.value) }));
  }
});
