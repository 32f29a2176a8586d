/**
 * Pure mapping from decoded pgoutput messages (pg-logical-replication's shapes, declared here
 * structurally so this module stays free of I/O) to change events. The stream module feeds
 * messages in order; `TransactionDecoder` only remembers the open transaction's Begin.
 */
import { CONNECTOR, OP, TOAST_UNAVAILABLE, type ChangeEvent, type ChangeKey, type JsonValue, type Op, type RowImage } from '@evictd/schemas';
import { lsnToJson, parseLsn, type Lsn } from './lsn.js';
import { convertValue } from './pg-values.js';

export interface RelationColumn {
  name: string;
  flags: number;
  typeOid: number;
  typeName: string | null;
}

export interface Relation {
  relationOid: number;
  schema: string;
  name: string;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  columns: RelationColumn[];
  /** Replica identity columns (with REPLICA IDENTITY FULL: every column). */
  keyColumns: string[];
}

/** A tuple as the library hands it over: text values, null for SQL NULL, undefined for an unchanged TOAST value. */
export type Tuple = Record<string, unknown>;

export type PgoutputMessage =
  | { tag: 'begin'; commitLsn: string | null; commitTime: bigint; xid: number }
  | { tag: 'commit'; commitLsn: string | null; commitEndLsn: string | null; commitTime: bigint }
  | { tag: 'relation' } & Relation
  | { tag: 'insert'; relation: Relation; new: Tuple }
  | { tag: 'update'; relation: Relation; key: Tuple | null; old: Tuple | null; new: Tuple }
  | { tag: 'delete'; relation: Relation; key: Tuple | null; old: Tuple | null }
  | { tag: 'truncate'; relations: Relation[] }
  | { tag: 'type' | 'origin' | 'message' };

/** One event ready for Kafka, not yet serialized. */
export interface DecodedEvent {
  schema: string;
  table: string;
  /** Primary key columns of the row; null for table-wide events (truncate). */
  key: ChangeKey | null;
  value: ChangeEvent;
  /** The table's columns as pgoutput described them (for `publish.schemas`); absent on evictd's own flush events. */
  relation?: Relation;
}

export interface DecodeOptions {
  /** `source.name`: the topic prefix. */
  name: string;
  db: string;
  /** Primary key columns per `schema.table`, from the catalog; tables without one key by replica identity. */
  primaryKeys: ReadonlyMap<string, readonly string[]>;
  now: () => number;
}

/** What one message contributed: events, and where a transaction began or ended. */
export type Decoded =
  | { kind: 'begin'; xid: number; commitTimeMs: number }
  | { kind: 'events'; events: DecodedEvent[] }
  | { kind: 'commit'; xid: number; commitEndLsn: Lsn; commitTimeMs: number; events: number }
  | { kind: 'ignored' };

interface OpenTransaction {
  xid: number;
  commitTimeMs: number;
  events: number;
}

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export class TransactionDecoder {
  private open: OpenTransaction | null = null;

  constructor(private readonly options: DecodeOptions) {}

  /** `lsn` is the WAL position of the message (XLogData start): the change's own LSN. */
  decode(lsn: string, msg: PgoutputMessage): Decoded {
    switch (msg.tag) {
      case 'begin': {
        if (this.open) throw new DecodeError(`Begin of transaction ${msg.xid >>> 0} while transaction ${this.open.xid} is still open`);
        // xid is read as a signed int32 by the library; transaction ids are unsigned.
        this.open = { xid: msg.xid >>> 0, commitTimeMs: Number(msg.commitTime / 1000n), events: 0 };
        return { kind: 'begin', xid: this.open.xid, commitTimeMs: this.open.commitTimeMs };
      }
      case 'commit': {
        const txn = this.requireOpen('Commit');
        if (!msg.commitEndLsn) throw new DecodeError(`Commit of transaction ${txn.xid} without an end LSN`);
        this.open = null;
        return { kind: 'commit', xid: txn.xid, commitEndLsn: parseLsn(msg.commitEndLsn), commitTimeMs: txn.commitTimeMs, events: txn.events };
      }
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate': {
        const txn = this.requireOpen(msg.tag);
        const events = changeEvents(msg, { ...this.options, lsn: lsnToJson(parseLsn(lsn)), txId: txn.xid, commitTimeMs: txn.commitTimeMs });
        txn.events += events.length;
        return { kind: 'events', events };
      }
      default:
        return { kind: 'ignored' };
    }
  }

  /**
   * A row change of the open transaction that the caller encodes itself (encode.ts, the
   * publisher's fast path): counts it like decode() would and returns what its event needs.
   */
  rowChange(lsn: string, msg: { tag: 'insert' | 'update' | 'delete' }): { name: string; db: string; primaryKeys: ReadonlyMap<string, readonly string[]>; lsn: string; txId: number; commitTimeMs: number; nowMs: number } {
    const txn = this.requireOpen(msg.tag);
    txn.events += 1;
    const { name, db, primaryKeys } = this.options;
    return { name, db, primaryKeys, lsn, txId: txn.xid, commitTimeMs: txn.commitTimeMs, nowMs: this.options.now() };
  }

  /** True between a Begin and its Commit: positions inside a transaction must not be acknowledged. */
  get inTransaction(): boolean {
    return this.open !== null;
  }

  /** Forgets a half-received transaction (the connection dropped; the server resends it whole). */
  reset(): void {
    this.open = null;
  }

  private requireOpen(what: string): OpenTransaction {
    if (!this.open) throw new DecodeError(`${what} message outside a transaction (no Begin before it)`);
    return this.open;
  }
}

interface EventContext extends DecodeOptions {
  lsn: number | string;
  txId: number;
  commitTimeMs: number;
}

type ChangeMessage = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>;

export function changeEvents(msg: ChangeMessage, ctx: EventContext): DecodedEvent[] {
  if (msg.tag === 'truncate') {
    return msg.relations.map((relation) => ({
      schema: relation.schema,
      table: relation.name,
      key: null,
      value: envelope(OP.TRUNCATE, null, null, relation, ctx),
      relation,
    }));
  }
  const { relation } = msg;
  const before = msg.tag === 'insert' ? null : rowImage(relation, msg.old ?? msg.key);
  const after = msg.tag === 'delete' ? null : rowImage(relation, msg.new);
  const op: Op = msg.tag === 'insert' ? OP.CREATE : msg.tag === 'update' ? OP.UPDATE : OP.DELETE;
  return [{ schema: relation.schema, table: relation.name, key: keyOf(relation, after ?? before, ctx.primaryKeys), value: envelope(op, before, after, relation, ctx), relation }];
}

function envelope(op: Op, before: RowImage | null, after: RowImage | null, relation: Relation, ctx: EventContext): ChangeEvent {
  return {
    before,
    after,
    op,
    source: { connector: CONNECTOR, name: ctx.name, db: ctx.db, schema: relation.schema, table: relation.name, txId: ctx.txId, lsn: ctx.lsn, ts_ms: ctx.commitTimeMs, snapshot: 'false' },
    ts_ms: ctx.now(),
  };
}

/** Converts the columns present in the tuple (all of them, or only the key columns of a key tuple). */
export function rowImage(relation: Relation, tuple: Tuple | null): RowImage | null {
  if (!tuple) return null;
  const row: RowImage = {};
  for (const column of relation.columns) {
    if (!(column.name in tuple)) continue;
    row[column.name] = columnValue(relation, column, tuple[column.name]);
  }
  return row;
}

function columnValue(relation: Relation, column: RelationColumn, value: unknown): JsonValue {
  if (value === undefined) return TOAST_UNAVAILABLE;
  if (value === null) return null;
  if (typeof value === 'string') return convertValue(value, column.typeOid, column.typeName);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // The stream module must hand over Postgres' text output; anything else means a parser slipped in.
  throw new DecodeError(`${relation.schema}.${relation.name}.${column.name}: expected Postgres text output, got ${typeof value}`);
}

/**
 * The Kafka key: the primary key columns (catalog), else the replica identity columns, taken from
 * the row. Null when neither is complete in the row (a table without key, or a delete whose
 * replica identity index does not cover the primary key): such events go to one partition.
 */
export function keyOf(relation: Relation, row: RowImage | null, primaryKeys: ReadonlyMap<string, readonly string[]>): ChangeKey | null {
  if (!row) return null;
  const primary = primaryKeys.get(`${relation.schema}.${relation.name}`);
  for (const columns of [primary, relation.keyColumns]) {
    if (!columns || columns.length === 0 || !columns.every((c) => c in row)) continue;
    return Object.fromEntries(columns.map((c) => [c, row[c] as JsonValue]));
  }
  return null;
}
