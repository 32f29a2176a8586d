/**
 * `publish.schemas: true`: keys and values wrapped as Kafka Connect's JsonConverter writes them
 * with `schemas.enable=true` (`{"schema": ..., "payload": ...}`), so a consumer written for a
 * Debezium topic with schemas reads evictd's topics unchanged. Each field's schema says what
 * evictd writes for that column (cdc/pg-values.ts): where evictd writes Postgres text (int8,
 * numeric, date, time, timestamp) the type is `string`, as Debezium's string handling modes would
 * say, and Debezium's logical names are used where the value is in their form. Pure; the schema
 * text is built once per relation.
 */
import type { ChangeEvent, ChangeKey } from '@evictd/schemas';
import type { Relation, RelationColumn } from './decode.js';
import { arrayElement } from './pg-values.js';

type ConnectSchema = Record<string, unknown>;

/** Types whose values evictd writes in Debezium's own form: Connect type and logical name. */
const TYPED: ReadonlyMap<number, ConnectSchema> = new Map<number, ConnectSchema>([
  [16, { type: 'boolean' }],
  [17, { type: 'bytes' }],
  [21, { type: 'int16' }],
  [23, { type: 'int32' }],
  [26, { type: 'int64' }],
  [700, { type: 'float' }],
  [701, { type: 'double' }],
  [114, { type: 'string', name: 'io.debezium.data.Json', version: 1 }],
  [3802, { type: 'string', name: 'io.debezium.data.Json', version: 1 }],
  [2950, { type: 'string', name: 'io.debezium.data.Uuid', version: 1 }],
  [1184, { type: 'string', name: 'io.debezium.time.ZonedTimestamp', version: 1 }],
  [1266, { type: 'string', name: 'io.debezium.time.ZonedTime', version: 1 }],
  [1186, { type: 'string', name: 'io.debezium.time.Interval', version: 1 }],
]);

function scalarSchema(typeOid: number): ConnectSchema {
  return TYPED.get(typeOid) ?? { type: 'string' };
}

export function columnSchema(column: RelationColumn, optional: boolean): ConnectSchema {
  const element = arrayElement(column.typeOid, column.typeName);
  const body = element !== null ? { type: 'array', items: { ...scalarSchema(element), optional: true } } : scalarSchema(column.typeOid);
  return { ...body, optional, field: column.name };
}

function rowSchema(relation: Relation, topic: string, keyColumns: ReadonlySet<string>): ConnectSchema {
  return {
    type: 'struct',
    // Key columns are never null; pgoutput does not say which other columns are NOT NULL.
    fields: relation.columns.map((c) => columnSchema(c, !keyColumns.has(c.name))),
    optional: true,
    name: `${topic}.Value`,
  };
}

const SOURCE_FIELDS: Array<[string, string, boolean]> = [
  ['connector', 'string', false], ['name', 'string', false], ['db', 'string', false], ['schema', 'string', false],
  ['table', 'string', false], ['txId', 'int64', true], ['lsn', 'int64', true], ['ts_ms', 'int64', false], ['snapshot', 'string', true],
];

function envelopeSchema(topic: string, row: ConnectSchema): ConnectSchema {
  const field = (name: string, schema: ConnectSchema) => ({ ...schema, field: name });
  return {
    type: 'struct',
    fields: [
      field('before', row),
      field('after', row),
      field('source', {
        type: 'struct',
        fields: SOURCE_FIELDS.map(([name, type, optional]) => ({ type, optional, field: name })),
        optional: false,
        name: 'io.evictd.Source',
      }),
      { type: 'string', optional: false, field: 'op' },
      { type: 'int64', optional: true, field: 'ts_ms' },
      {
        type: 'struct',
        fields: [
          { type: 'string', optional: false, field: 'reason' },
          { type: 'string', optional: false, field: 'slot' },
          { type: 'string', optional: true, field: 'lastLsn' },
        ],
        optional: true,
        name: 'io.evictd.Flush',
        field: 'flush',
      },
    ],
    optional: false,
    name: `${topic}.Envelope`,
  };
}

interface SchemaTexts {
  value: string;
  key: string | null;
}

const byRelation = new WeakMap<Relation, Map<string, SchemaTexts>>();
const byTopic = new Map<string, SchemaTexts>();

/**
 * The schema texts of a topic's messages. Without a relation (evictd's own flush events) the
 * row struct has no fields: before and after are null there.
 */
function schemasFor(topic: string, relation: Relation | undefined, keyColumns: readonly string[]): SchemaTexts {
  let cache = byTopic;
  if (relation) {
    cache = byRelation.get(relation) ?? new Map<string, SchemaTexts>();
    byRelation.set(relation, cache);
  }
  const cacheKey = relation ? keyColumns.join('\u0000') : topic;
  const found = cache.get(cacheKey);
  if (found) return found;
  const keys = new Set(keyColumns);
  const row: ConnectSchema = relation ? rowSchema(relation, topic, keys) : { type: 'struct', fields: [], optional: true, name: `${topic}.Value` };
  const keyFields = relation ? relation.columns.filter((c) => keys.has(c.name)).map((c) => columnSchema(c, false)) : [];
  const texts: SchemaTexts = {
    value: JSON.stringify(envelopeSchema(topic, row)),
    key: keyFields.length > 0 ? JSON.stringify({ type: 'struct', fields: keyFields, optional: false, name: `${topic}.Key` }) : null,
  };
  cache.set(cacheKey, texts);
  return texts;
}

/** The key and value of a change event as JsonConverter with schemas.enable=true writes them. */
export function withConnectSchemas(topic: string, relation: Relation | undefined, key: ChangeKey | null, value: ChangeEvent): { key: string | null; value: string } {
  const schemas = schemasFor(topic, relation, key ? Object.keys(key) : []);
  return {
    key: key && schemas.key ? `{"schema":${schemas.key},"payload":${JSON.stringify(key)}}` : null,
    value: `{"schema":${schemas.value},"payload":${JSON.stringify(value)}}`,
  };
}
