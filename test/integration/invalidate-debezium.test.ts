// Issue 14: `evictd invalidate` fed events shaped exactly like Debezium 3.x's PostgreSQL connector
// through Kafka Connect's JsonConverter, with schemas (schemas.enable=true) and without (the
// invalidator then types them from the live catalog), for one row of every common type. Every key
// the rules render from the row's canonical values is deleted, and the keys the raw Debezium
// values would have rendered (epoch days, base64 decimals, the int8 rounded by JSON.parse) are not.
// The fixtures' Postgres text is checked against this real Postgres first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Producer } from 'kafkajs';
import { createRedisLayout } from '@evictd/schemas';
import { stackEnv, uniqueName } from '../support/index.js';
import { parseConfig } from '../../services/invalidator/src/config/index.js';
import { SESSION_OPTIONS } from '../../services/invalidator/src/cdc/pg-values.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { BIG_ID, INTERVAL_STRING_MODE, TYPE_FIXTURES, type TypeFixture } from '../../services/invalidator/src/types/debezium-fixtures.js';
import { cacheFixture, produce, startInvalidator, testKafka } from './invalidate-helpers.js';

const env = stackEnv();
const ns = uniqueName('inv_dbz');
const table = `${ns}_types`;
const mood = `${ns}_mood`;
const topic = `dbserver1_${ns}.public.${table}`; // Debezium's <topic.prefix>.<schema>.<table>
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const redis = new Redis(env.REDIS_URL);
const { setAll, gone } = cacheFixture(redis, createRedisLayout({ keyPrefix: `${ns}:` }));
const kafka = testKafka(env);
let producer: Producer;
let role: Role;

// The default interval.handling.mode=numeric cannot give the key back (the unit tests show the
// fallback); this row is what interval.handling.mode=string sends, the setting the guide asks for.
const fixtures: TypeFixture[] = TYPE_FIXTURES.map((f) => (f.fallback ? { ...f, ...INTERVAL_STRING_MODE } : f));
const key = (f: TypeFixture, text: string) => `${ns}:${f.column}:${text}`;
const expected = fixtures.map((f) => key(f, f.rendered));
/** What the raw Debezium value would have rendered, where that differs: must survive. */
const decoys = fixtures.flatMap((f) => {
  const raw = JSON.parse(f.debezium) as unknown;
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  return text === f.rendered ? [] : [key(f, text)];
});

const config = parseConfig(
  `
kafka: { topicPrefix: ${ns}, partitions: 1 }
redis: { keyPrefix: "${ns}:" }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq, topics: ["${topic}"] }
log: { level: silent }
tables:
  public.${table}:
    keys: [${fixtures.map((f) => `"${ns}:${f.column}:{${f.column}}"`).join(', ')}]
`,
  `/tmp/${ns}.yaml`,
  env as unknown as NodeJS.ProcessEnv,
);

before(async () => {
  await db.connect();
  await db.query(`CREATE TYPE ${mood} AS ENUM ('sad', 'happy')`);
  const columns = fixtures.map((f) => `${f.column} ${f.sqlType === 'mood' ? mood : f.sqlType}`);
  await db.query(`CREATE TABLE ${table} (${columns.join(', ')})`);
  await db.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`); // the templates use non-key columns
  await db.query(`INSERT INTO ${table} (${fixtures.map((f) => f.column).join(', ')}) VALUES (${fixtures.map((f) => (f.sqlType === 'mood' ? `${f.sql}::${mood}` : f.sql)).join(', ')})`);
  producer = kafka.producer();
  await producer.connect();
  ({ role } = await startInvalidator(config));
});

after(async () => {
  await role?.stop();
  await producer?.disconnect();
  redis.disconnect();
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`DROP TYPE IF EXISTS ${mood}`);
  await db.end();
});

test('the fixtures hold the text Postgres sends in evictd\'s session styles', async () => {
  const session = new pg.Client({ connectionString: env.DATABASE_URL, options: SESSION_OPTIONS });
  await session.connect();
  try {
    // Each type's output function (not a cast to text: bool::text is 'true', its output 't'), unparsed.
    const { rows } = await session.query({ text: `SELECT * FROM ${table}`, types: { getTypeParser: () => (value: string) => value } });
    for (const f of TYPE_FIXTURES) assert.equal(rows[0][f.column], f.pgText, f.column);
  } finally {
    await session.end();
  }
});

function field(f: TypeFixture): string {
  return JSON.stringify({ ...f.schema, field: f.column });
}

/** A Debezium 3.x change event value (io.debezium.connector.postgresql.PostgresChangeRecordEmitter, Envelope). */
function debeziumValue(withSchema: boolean): string {
  const now = Date.now();
  const row = `{${fixtures.map((f) => `"${f.column}":${f.debezium}`).join(',')}}`;
  const source = JSON.stringify({
    version: '3.6.1.Final', connector: 'postgresql', name: `dbserver1_${ns}`, ts_ms: now, snapshot: 'false', db: 'app',
    sequence: '[null,"24023128"]', ts_us: now * 1000, ts_ns: now * 1_000_000, schema: 'public', table, txId: 556, lsn: 24023128, xmin: null,
  });
  const payload = `{"before":null,"after":${row},"source":${source},"transaction":null,"op":"c","ts_ms":${now},"ts_us":${now * 1000},"ts_ns":${now * 1_000_000}}`;
  if (!withSchema) return payload;
  const rowSchema = (name: string) => `{"type":"struct","fields":[${fixtures.map(field).join(',')}],"optional":true,"name":"dbserver1_${ns}.public.${table}.Value","field":"${name}"}`;
  const str = (name: string, optional = false) => `{"type":"string","optional":${optional},"field":"${name}"}`;
  const i64 = (name: string, optional = false) => `{"type":"int64","optional":${optional},"field":"${name}"}`;
  const sourceSchema = `{"type":"struct","fields":[${str('version')},${str('connector')},${str('name')},${i64('ts_ms')},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},${str('db')},${str('sequence', true)},${i64('ts_us', true)},${i64('ts_ns', true)},${str('schema')},${str('table')},${i64('txId', true)},${i64('lsn', true)},${i64('xmin', true)}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}`;
  const transaction = `{"type":"struct","fields":[${str('id')},${i64('total_order')},${i64('data_collection_order')}],"optional":true,"name":"event.block","version":1,"field":"transaction"}`;
  const schema = `{"type":"struct","fields":[${rowSchema('before')},${rowSchema('after')},${sourceSchema},${transaction},${str('op')},${i64('ts_ms', true)},${i64('ts_us', true)},${i64('ts_ns', true)}],"optional":false,"name":"dbserver1_${ns}.public.${table}.Envelope","version":2}`;
  return `{"schema":${schema},"payload":${payload}}`;
}

function debeziumKey(withSchema: boolean): string {
  const payload = `{"id":${BIG_ID}}`;
  return withSchema ? `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"dbserver1_${ns}.public.${table}.Key"},"payload":${payload}}` : payload;
}

for (const withSchema of [true, false]) {
  test(`Debezium JsonConverter output ${withSchema ? 'with' : 'without'} schemas: every key of the row is deleted, none of the raw-value keys`, async () => {
    assert.ok(decoys.includes(`${ns}:id:9007199254740992`) && decoys.includes(`${ns}:day:20455`) && decoys.includes(`${ns}:price:BNM=`));
    await setAll([...expected, ...decoys]);
    await produce(producer, topic, [{ key: debeziumKey(withSchema), value: debeziumValue(withSchema) }]);
    await gone(expected);
    const left = await Promise.all(decoys.map(async (d) => ((await redis.exists(d)) === 1 ? null : d)));
    assert.deepEqual(left.filter((d) => d !== null), [], 'keys rendered from raw Debezium values must stay');
  });
}
