// The change event published by `evictd publish` and read by `evictd invalidate`: a Debezium-compatible
// envelope (https://debezium.io/documentation/reference/connectors/postgresql.html#postgresql-events).
// Field names and op codes live here only, so both sides agree by construction.
import { Ajv, type ErrorObject } from 'ajv';
import { readJsonSchema } from './json-schemas.js';

export const OP = { CREATE: 'c', UPDATE: 'u', DELETE: 'd', TRUNCATE: 't', READ: 'r' } as const;
export type Op = (typeof OP)[keyof typeof OP];
const OPS: ReadonlySet<string> = new Set(Object.values(OP));

/** Value Debezium puts in place of an unchanged TOASTed column it was not sent; consumers must not read it as data. */
export const TOAST_UNAVAILABLE = '__debezium_unavailable_value';

/** `source.connector` of the events evictd publishes. */
export const CONNECTOR = 'evictd';

/** Why a table-wide flush (op `t` without a TRUNCATE) was published. */
export const FLUSH_REASON = { LOST_SLOT: 'lost_slot' } as const;
export type FlushReason = (typeof FLUSH_REASON)[keyof typeof FLUSH_REASON];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type RowImage = Record<string, JsonValue>;

export interface ChangeSource {
  connector: string;
  /** Logical name of the emitter (evictd: the topic prefix). */
  name: string;
  db: string;
  schema: string;
  table: string;
  /** Postgres transaction id; null for events not tied to one transaction (flush). */
  txId: number | null;
  /** WAL position of the change record (Debezium's meaning); a decimal string only beyond 2^53; null for flush events. */
  lsn: number | string | null;
  /** Commit time, ms since the epoch: what end-to-end lag is measured from. */
  ts_ms: number;
  snapshot: 'false';
}

export interface FlushInfo {
  reason: FlushReason;
  slot: string;
  /** Last LSN evictd knew it had published from the slot before it was lost (`X/Y`), if known. */
  lastLsn: string | null;
}

export interface ChangeEvent {
  before: RowImage | null;
  after: RowImage | null;
  op: Op;
  source: ChangeSource;
  /** When evictd built the event, ms since the epoch. */
  ts_ms: number;
  /** Only on op `t` events that evictd emits itself to make consumers drop everything from the table. */
  flush?: FlushInfo;
}

/** Kafka message key: the primary key columns of the row (null for table-wide events). */
export type ChangeKey = RowImage;

export function isOp(value: unknown): value is Op {
  return typeof value === 'string' && OPS.has(value);
}

/** Unknown op codes are an error, never skipped: a consumer that does not understand an event must not commit past it. */
export function parseOp(value: unknown): Op {
  if (!isOp(value)) {
    throw new Error(`unknown change event op ${JSON.stringify(value)}: expected one of ${[...OPS].join(', ')}`);
  }
  return value;
}

export const changeEventSchema: Readonly<Record<string, unknown>> = readJsonSchema('change-event.schema.json');

let compiled: ((v: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

/** Validates a decoded event value against schemas/change-event.schema.json; returns the problems (empty: valid). */
export function validateChangeEvent(value: unknown): string[] {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(changeEventSchema);
  if (compiled(value)) return [];
  return (compiled.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
