/**
 * Consumer-side decoding of change events: a raw Kafka message becomes a change, a tombstone, or
 * a reason why it is malformed. Pure. Accepts evictd's envelope and Debezium's JSON, with or
 * without the JsonConverter `{schema, payload}` wrapper, checking only what invalidation needs
 * (op, table, row images), so Debezium's extra fields and versions pass.
 */
import { isOp, OP, type ChangeKey, type Op, type RowImage } from '@evictd/schemas';

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
}

export type Decoded =
  | { readonly kind: 'change'; readonly event: DecodedChange }
  | { readonly kind: 'tombstone' }
  | { readonly kind: 'malformed'; readonly reason: string };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Debezium's JsonConverter with schemas.enable wraps the data as `{schema, payload}`. */
function unwrap(value: unknown): unknown {
  if (isObject(value) && 'payload' in value && 'schema' in value && Object.keys(value).length === 2) return value.payload;
  return value;
}

function parseJson(buffer: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(buffer.toString('utf8')) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function decodeKey(buffer: Buffer | null): ChangeKey | null {
  if (buffer === null || buffer.length === 0) return null;
  const parsed = parseJson(buffer);
  const key = parsed.ok ? unwrap(parsed.value) : null;
  return isObject(key) ? (key as ChangeKey) : null;
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

export function decodeEvent(message: RawMessage): Decoded {
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
  const images: { before: RowImage | null; after: RowImage | null } = { before: null, after: null };
  for (const field of ['before', 'after'] as const) {
    const image = value[field] ?? null;
    if (image !== null && !isObject(image)) return malformed(`"${field}" must be an object or null`);
    if (image === null && NEEDS[op][field]) return malformed(`op "${op}" needs "${field}" to be a row object`);
    images[field] = image as RowImage | null;
  }
  const ts = source.ts_ms;
  return {
    kind: 'change',
    event: {
      op,
      table: `${source.schema}.${source.table}`,
      ...images,
      key: decodeKey(message.key),
      commitTsMs: typeof ts === 'number' && Number.isFinite(ts) ? ts : null,
      flush: op === OP.TRUNCATE && isObject(value.flush),
    },
  };
}
