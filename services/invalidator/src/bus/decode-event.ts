/**
 * Consumer-side decoding of change events: a raw Kafka message becomes a change, a tombstone, or
 * a reason why it is malformed. Pure. Accepts evictd's envelope and Debezium's JSON, with or
 * without the JsonConverter `{schema, payload}` wrapper, checking only what invalidation needs
 * (op, table, row images), so Debezium's extra fields and versions pass.
 *
 * Values come out canonical whatever the source (types/canonical.ts), so rules render the same
 * key for the same row: evictd's events already are; Debezium's are converted with the field
 * schemas the event carries, else with the column types of the catalog (`columnTypes`). JSON is
 * parsed losslessly (int8 beyond 2^53).
 */
import { CONNECTOR, isOp, OP, type ChangeKey, type Op, type RowImage } from '@evictd/schemas';
import { canonicalFromDebezium, type ColumnType, type ConnectSchema } from '../types/canonical.js';
import { parseJsonLossless, type LosslessJson } from '../types/lossless-json.js';

export interface RawMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface DecodedChange {
  readonly op: Op;
  /** `schema.table`, the rules key. */
  readonly table: string;
  readonly before: RowImage | null;
  readonly after: RowImage | null;
  /** Primary key from the message key; null when absent or not a JSON object. */
  readonly key: ChangeKey | null;
  /** Commit time (`source.ts_ms`), null if the producer did not say. */
  readonly commitTsMs: number | null;
  /** Set on evictd's lost-slot flush events (op 't'). */
  readonly flush: boolean;
  /**
   * How the values were made canonical: evictd's own events already are; Debezium's through the
   * event's schema or the catalog's column types; 'untyped': neither was there, values are as sent.
   */
  readonly typing: Typing;
  /** Columns left out because their canonical value could not be recovered (templates using them fall back). */
  readonly dropped: readonly DroppedColumn[];
}

export type Typing = 'evictd' | 'schema' | 'catalog' | 'untyped';

export interface DroppedColumn {
  readonly column: string;
  readonly reason: string;
}

export interface DecodeOptions {
  /** Column types of a `schema.table` from the catalog, for Debezium events without a schema. */
  readonly columnTypes?: (table: string) => ReadonlyMap<string, ColumnType> | undefined;
}

export type Decoded =
  | { readonly kind: 'change'; readonly event: DecodedChange }
  | { readonly kind: 'tombstone' }
  | { readonly kind: 'malformed'; readonly reason: string };

type Json = { [k: string]: LosslessJson };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Debezium's JsonConverter with schemas.enable wraps the data as `{schema, payload}`. */
function isWrapped(value: unknown): value is { schema: LosslessJson; payload: LosslessJson } {
  return isObject(value) && 'payload' in value && 'schema' in value && Object.keys(value).length === 2;
}

function unwrap(value: LosslessJson): LosslessJson {
  return isWrapped(value) ? value.payload : value;
}

function parseJson(buffer: Buffer): { ok: true; value: LosslessJson } | { ok: false; error: string } {
  try {
    return { ok: true, value: parseJsonLossless(buffer.toString('utf8')) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Field schemas by column name of a struct schema (the row's `Value` or the `Key`). */
function fieldSchemas(schema: unknown): ReadonlyMap<string, ConnectSchema> | null {
  if (!isObject(schema) || !Array.isArray(schema.fields)) return null;
  const out = new Map<string, ConnectSchema>();
  for (const f of schema.fields) if (isObject(f) && typeof f.field === 'string') out.set(f.field, f as unknown as ConnectSchema);
  return out;
}

/** The `before`/`after` struct schema of a Debezium envelope schema. */
function rowSchema(envelope: LosslessJson): ReadonlyMap<string, ConnectSchema> | null {
  const row = fieldSchemas(envelope)?.get('after') ?? fieldSchemas(envelope)?.get('before');
  return row ? fieldSchemas(row) : null;
}

type Types = { schema: ReadonlyMap<string, ConnectSchema> | null; columns: ReadonlyMap<string, ColumnType> | undefined };

/** A Debezium row image with every value canonical; columns whose value cannot be recovered are left out. */
function canonicalRow(row: Json, types: Types, dropped: DroppedColumn[]): RowImage {
  const out: RowImage = {};
  for (const [column, value] of Object.entries(row)) {
    const c = canonicalFromDebezium(value, { schema: types.schema?.get(column) ?? null, column: types.columns?.get(column) ?? null });
    if (c.ok) out[column] = c.value;
    else if (!dropped.some((d) => d.column === column)) dropped.push({ column, reason: c.reason });
  }
  return out;
}

/** evictd's own values are canonical already; only bigints (from a lossless parse) need turning into text. */
function ownRow(row: Json): RowImage {
  for (const value of Object.values(row)) if (typeof value === 'bigint' || (typeof value === 'object' && value !== null)) return canonicalRow(row, { schema: null, columns: undefined }, []);
  return row as RowImage;
}

function decodeKey(buffer: Buffer | null, own: boolean, columns: ReadonlyMap<string, ColumnType> | undefined, dropped: DroppedColumn[]): ChangeKey | null {
  if (buffer === null || buffer.length === 0) return null;
  const parsed = parseJson(buffer);
  if (!parsed.ok) return null;
  const key = unwrap(parsed.value);
  if (!isObject(key)) return null;
  if (own) return ownRow(key);
  const schema = isWrapped(parsed.value) ? fieldSchemas(parsed.value.schema) : null;
  return canonicalRow(key, { schema, columns }, dropped);
}

const malformed = (reason: string): Decoded => ({ kind: 'malformed', reason });

/** Which row images an op must carry. */
const NEEDS: Record<Op, { before: boolean; after: boolean }> = {
  [OP.CREATE]: { before: false, after: true },
  [OP.READ]: { before: false, after: true },
  [OP.UPDATE]: { before: false, after: true },
  [OP.DELETE]: { before: true, after: false },
  [OP.TRUNCATE]: { before: false, after: false },
};

export function decodeEvent(message: RawMessage, options: DecodeOptions = {}): Decoded {
  if (message.value === null || message.value.length === 0) return { kind: 'tombstone' };
  const parsed = parseJson(message.value);
  if (!parsed.ok) return malformed(`value is not valid JSON: ${parsed.error}`);
  const wrapped = parsed.value;
  if (isObject(wrapped) && 'payload' in wrapped && wrapped.payload === null) return { kind: 'tombstone' };
  const value = unwrap(wrapped);
  if (!isObject(value)) return malformed(`value is ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'null' : `a ${typeof value}`}, expected a change event object`);
  if (!isOp(value.op)) return malformed(`unknown op ${JSON.stringify(value.op)}: expected one of ${Object.values(OP).join(', ')}`);
  const op = value.op;
  const source = value.source;
  if (!isObject(source)) return malformed('"source" is missing or not an object');
  if (typeof source.schema !== 'string' || source.schema === '' || typeof source.table !== 'string' || source.table === '') {
    return malformed('"source.schema" and "source.table" must name the table');
  }
  const table = `${source.schema}.${source.table}`;
  const own = source.connector === CONNECTOR;
  const schema = !own && isWrapped(wrapped) ? rowSchema(wrapped.schema) : null;
  const columns = own || schema ? undefined : options.columnTypes?.(table);
  const typing: Typing = own ? 'evictd' : schema ? 'schema' : columns ? 'catalog' : 'untyped';
  const dropped: DroppedColumn[] = [];
  const images: { before: RowImage | null; after: RowImage | null } = { before: null, after: null };
  for (const field of ['before', 'after'] as const) {
    const image = value[field] ?? null;
    if (image !== null && !isObject(image)) return malformed(`"${field}" must be an object or null`);
    if (image === null && NEEDS[op][field]) return malformed(`op "${op}" needs "${field}" to be a row object`);
    images[field] = image === null ? null : own ? ownRow(image) : canonicalRow(image, { schema, columns }, dropped);
  }
  const ts = source.ts_ms;
  return {
    kind: 'change',
    event: {
      op,
      table,
      ...images,
      key: decodeKey(message.key, own, columns, dropped),
      commitTsMs: typeof ts === 'number' && Number.isFinite(ts) ? ts : null,
      flush: op === OP.TRUNCATE && isObject(value.flush),
      typing,
      dropped,
    },
  };
}
