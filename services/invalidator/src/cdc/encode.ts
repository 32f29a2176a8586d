/**
 * Row changes straight to their Kafka key and value JSON, without building the event object and
 * running generic JSON.stringify over it: the publisher's hot path (issue #13: decoding and
 * encoding were a quarter of its CPU, and their objects a good part of its garbage).
 *
 * The output is byte for byte what `JSON.stringify` gives for the objects `changeEvents` and
 * `keyOf` build (decode.ts), which stay the reference: encode.test.ts holds the two together over
 * every op and value kind. Per relation the fixed parts (column names, the source block up to
 * txId, the topic) are computed once; per event only the values are written. Relations whose
 * column names JSON.stringify would reorder or treat specially (array-index names, `__proto__`)
 * take the reference path instead.
 */
import { CONNECTOR, OP, TOAST_UNAVAILABLE, type ChangeEvent } from '@evictd/schemas';
import { changeTopic } from '../bus/topics.js';
import { changeEvents, keyOf, type PgoutputMessage, type Relation, type Tuple } from './decode.js';
import { lsnJsonText } from './lsn.js';
import { jsonConverter } from './pg-values.js';

export type RowChangeMessage = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' }>;

export interface EncodedEvent {
  topic: string;
  /** `schema.table`, to check against the published tables. */
  table: string;
  key: string | null;
  value: string;
}

export interface EncodeContext {
  /** `source.name`: the topic prefix. */
  name: string;
  db: string;
  /** The message's WAL position, `X/Y`. */
  lsn: string;
  txId: number;
  commitTimeMs: number;
  nowMs: number;
  primaryKeys: ReadonlyMap<string, readonly string[]>;
}

const TOAST_JSON = JSON.stringify(TOAST_UNAVAILABLE);
const OP_JSON = { insert: JSON.stringify(OP.CREATE), update: JSON.stringify(OP.UPDATE), delete: JSON.stringify(OP.DELETE) } as const;
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

interface Plan {
  topic: string;
  table: string;
  names: string[];
  /** `"name":` per column, with the separating comma for all but the first. */
  fragments: string[];
  convert: ((text: string) => string)[];
  /** Column indexes of the Kafka key candidates, in keyOf's order of preference. */
  keyCandidates: number[][];
  /** `,"source":{"connector":...,"table":...,"txId":` */
  sourceHead: string;
}

/** One plan per relation, for the context it was made for (a publisher's name, db and key map never change). */
const plans = new WeakMap<Relation, { name: string; db: string; primaryKeys: ReadonlyMap<string, readonly string[]>; plan: Plan | null }>();

function planFor(relation: Relation, ctx: EncodeContext): Plan | null {
  const cached = plans.get(relation);
  if (cached && cached.primaryKeys === ctx.primaryKeys && cached.name === ctx.name && cached.db === ctx.db) return cached.plan;
  const plan = makePlan(relation, ctx);
  plans.set(relation, { name: ctx.name, db: ctx.db, primaryKeys: ctx.primaryKeys, plan });
  return plan;
}

function makePlan(relation: Relation, ctx: EncodeContext): Plan | null {
  const names = relation.columns.map((c) => c.name);
  const special = names.some((n) => ARRAY_INDEX.test(n) || n === '__proto__');
  const table = `${relation.schema}.${relation.name}`;
  const index = new Map(names.map((n, i) => [n, i]));
  const candidates = [ctx.primaryKeys.get(table), relation.keyColumns].filter((c): c is readonly string[] => !!c && c.length > 0);
  // A key column the relation does not have can never be complete: keyOf skips such a candidate too.
  const keyCandidates = candidates.filter((c) => c.every((n) => index.has(n))).map((c) => c.map((n) => index.get(n)!));
  return special
    ? null
    : {
        topic: changeTopic(ctx.name, relation.schema, relation.name),
        table,
        names,
        fragments: names.map((n, i) => `${i === 0 ? '' : ','}${JSON.stringify(n)}:`),
        convert: relation.columns.map((c) => jsonConverter(c.typeOid, c.typeName)),
        keyCandidates,
        sourceHead: `,"source":{"connector":${JSON.stringify(CONNECTOR)},"name":${JSON.stringify(ctx.name)},"db":${JSON.stringify(ctx.db)},"schema":${JSON.stringify(relation.schema)},"table":${JSON.stringify(relation.name)},"txId":`,
      };
}

/** The JSON of each column present in the tuple (undefined: absent), and the row object's JSON. */
function rowJson(plan: Plan, relation: Relation, tuple: Tuple, values: (string | undefined)[]): string {
  let out = '{';
  let first = true;
  for (let i = 0; i < plan.names.length; i++) {
    const name = plan.names[i]!;
    if (!(name in tuple)) continue;
    const raw = tuple[name];
    let json: string;
    if (raw === undefined) json = TOAST_JSON;
    else if (raw === null) json = 'null';
    else if (typeof raw === 'string') json = plan.convert[i]!(raw);
    else if (raw instanceof Uint8Array) json = `"${Buffer.from(raw).toString('base64')}"`;
    // The stream module must hand over Postgres' text output; anything else means a parser slipped in.
    else throw new Error(`${relation.schema}.${relation.name}.${name}: expected Postgres text output, got ${typeof raw}`);
    values[i] = json;
    // The first column present opens without a comma, whichever column it is.
    out += first ? (i === 0 ? plan.fragments[0]! : plan.fragments[i]!.slice(1)) : plan.fragments[i]!;
    out += json;
    first = false;
  }
  return `${out}}`;
}

function keyJson(plan: Plan, values: readonly (string | undefined)[]): string | null {
  for (const columns of plan.keyCandidates) {
    if (!columns.every((i) => values[i] !== undefined)) continue;
    let out = '{';
    for (let k = 0; k < columns.length; k++) {
      const i = columns[k]!;
      out += `${k === 0 ? '' : ','}${JSON.stringify(plan.names[i])}:${values[i]!}`;
    }
    return `${out}}`;
  }
  return null;
}

/** Key and value JSON of one row change (see the module comment for what they must equal). */
export function encodeRowChange(msg: RowChangeMessage, ctx: EncodeContext): EncodedEvent {
  const { relation } = msg;
  const plan = planFor(relation, ctx);
  if (!plan) return referenceEncode(msg, ctx);
  const beforeTuple = msg.tag === 'insert' ? null : (msg.old ?? msg.key);
  const afterTuple = msg.tag === 'delete' ? null : msg.new;
  const beforeValues: (string | undefined)[] = new Array(plan.names.length);
  const afterValues: (string | undefined)[] = new Array(plan.names.length);
  const before = beforeTuple ? rowJson(plan, relation, beforeTuple, beforeValues) : 'null';
  const after = afterTuple ? rowJson(plan, relation, afterTuple, afterValues) : 'null';
  // keyOf takes the key from the after image, else the before image.
  const key = afterTuple ? keyJson(plan, afterValues) : beforeTuple ? keyJson(plan, beforeValues) : null;
  const value =
    `{"before":${before},"after":${after},"op":${OP_JSON[msg.tag]}${plan.sourceHead}${ctx.txId},"lsn":${lsnJsonText(ctx.lsn)},` +
    `"ts_ms":${ctx.commitTimeMs},"snapshot":"false"},"ts_ms":${ctx.nowMs}}`;
  return { topic: plan.topic, table: plan.table, key, value };
}

/** The generic path: the event objects, then JSON.stringify. */
function referenceEncode(msg: RowChangeMessage, ctx: EncodeContext): EncodedEvent {
  const lsn = lsnJsonText(ctx.lsn);
  const [event] = changeEvents(msg, { name: ctx.name, db: ctx.db, primaryKeys: ctx.primaryKeys, now: () => ctx.nowMs, lsn: lsn.startsWith('"') ? (JSON.parse(lsn) as string) : Number(lsn), txId: ctx.txId, commitTimeMs: ctx.commitTimeMs });
  const { relation } = msg;
  const value: ChangeEvent = event!.value;
  const key = keyOf(relation, value.after ?? value.before, ctx.primaryKeys);
  return { topic: changeTopic(ctx.name, relation.schema, relation.name), table: `${relation.schema}.${relation.name}`, key: key ? JSON.stringify(key) : null, value: JSON.stringify(value) };
}
