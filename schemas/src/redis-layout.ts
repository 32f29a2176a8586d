import { readFileSync } from 'node:fs';

/**
 * Where evictd keeps its own state in Redis (markers, leases, tag sets) and how long it lives.
 * The normative description is schemas/redis/LAYOUT.md; this module is its TypeScript form,
 * shared by the invalidator and packages/cache so both sides always agree on key names.
 */
export interface RedisLayout {
  /** Prepended to every evictd-owned key; application cache keys are never prefixed. */
  readonly keyPrefix: string;
  /** How long an invalidation marker lives. Must exceed leaseTtlMs (the longest load that may fill). */
  readonly markerTtlMs: number;
  /** How long a fill lease lives: a loader slower than this cannot fill. */
  readonly leaseTtlMs: number;
  /** Fill lease for an application key: "<leaseStartMicros>:<token>". */
  leaseKey(key: string): string;
  /** Invalidation marker of an application key: Redis server time in microseconds. */
  keyMarkerKey(key: string): string;
  /** Invalidation marker of a tag: Redis server time in microseconds. */
  tagMarkerKey(tag: string): string;
  /** Load time in ms of the cached value of an application key (early refresh's delta); same TTL as the value. */
  loadTimeKey(key: string): string;
  /** Set of the application keys filled with this tag. */
  tagSetKey(tag: string): string;
  /** Invalidation marker of a key or tag shape (a table-wide invalidation): Redis server time in microseconds. */
  shapeMarkerKey(kind: ShapeKind, shape: string): string;
  /** Sorted set of the application keys filled under a key or tag shape, scored by their expiry (ms). */
  shapeSetKey(kind: ShapeKind, shape: string): string;
  /** Set of the cleanup sets that table-wide invalidations detached and that still hold keys to delete. */
  readonly cleanupIndexKey: string;
  /** A detached shape set awaiting deletion of its members; `id` is unique per detachment. */
  cleanupSetKey(id: string): string;
}

/**
 * What a shape is the shape of: `key` for a key template (`product:*` covers every key
 * `product:{id}` renders), `tag` for a tag template (covers every key filled with such a tag).
 */
export type ShapeKind = 'key' | 'tag';

const SHAPE_CODE: Record<ShapeKind, string> = { key: 'k', tag: 't' };

export const DEFAULT_MARKER_TTL_MS = 60_000;
export const DEFAULT_LEASE_TTL_MS = 5_000;

export interface RedisLayoutOptions {
  keyPrefix?: string;
  markerTtlMs?: number;
  leaseTtlMs?: number;
}

/** Builds the layout once; every problem with the options is reported together, naming the setting. */
export function createRedisLayout(opts: RedisLayoutOptions = {}): RedisLayout {
  const keyPrefix = opts.keyPrefix ?? '';
  const markerTtlMs = opts.markerTtlMs ?? DEFAULT_MARKER_TTL_MS;
  const leaseTtlMs = opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const problems = validateLayoutOptions(keyPrefix, markerTtlMs, leaseTtlMs);
  if (problems.length > 0) {
    throw new RangeError(`Invalid evictd Redis layout: ${problems.join('; ')}`);
  }
  const ns = `${keyPrefix}evictd:`;
  return Object.freeze({
    keyPrefix,
    markerTtlMs,
    leaseTtlMs,
    leaseKey: (key: string) => `${ns}lease:${key}`,
    keyMarkerKey: (key: string) => `${ns}mk:${key}`,
    tagMarkerKey: (tag: string) => `${ns}mt:${tag}`,
    loadTimeKey: (key: string) => `${ns}lt:${key}`,
    tagSetKey: (tag: string) => `${ns}tag:${tag}`,
    shapeMarkerKey: (kind: ShapeKind, shape: string) => `${ns}ms:${SHAPE_CODE[kind]}:${shape}`,
    shapeSetKey: (kind: ShapeKind, shape: string) => `${ns}shape:${SHAPE_CODE[kind]}:${shape}`,
    cleanupIndexKey: `${ns}cleanup`,
    cleanupSetKey: (id: string) => `${ns}cleanup:${id}`,
  });
}

function validateLayoutOptions(keyPrefix: unknown, markerTtlMs: unknown, leaseTtlMs: unknown): string[] {
  const problems: string[] = [];
  if (typeof keyPrefix !== 'string') {
    problems.push(`keyPrefix must be a string, got ${describe(keyPrefix)}`);
  }
  const ttlOk = (name: string, value: unknown): value is number => {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return true;
    problems.push(`${name} must be a positive integer number of milliseconds, got ${describe(value)}`);
    return false;
  };
  const markerOk = ttlOk('markerTtlMs', markerTtlMs);
  const leaseOk = ttlOk('leaseTtlMs', leaseTtlMs);
  if (markerOk && leaseOk && leaseTtlMs >= markerTtlMs) {
    problems.push(
      `leaseTtlMs (${leaseTtlMs}) must be smaller than markerTtlMs (${markerTtlMs}): a marker must outlive ` +
        'every lease that started before it, or a stale fill could slip through; raise markerTtlMs or lower leaseTtlMs',
    );
  }
  return problems;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The Lua scripts of the protocol; their contracts are in schemas/redis/LAYOUT.md. */
export type RedisScriptName = 'lease' | 'read' | 'refresh' | 'fill' | 'release' | 'invalidate' | 'flush' | 'drain';

const scriptCache = new Map<RedisScriptName, string>();

/**
 * Source of one protocol script. The .lua files sit in schemas/redis/, one level above both
 * src/ (tsx) and dist/ (tsc output), so the same relative URL works from either without a copy step.
 */
export function redisScriptSource(name: RedisScriptName): string {
  let source = scriptCache.get(name);
  if (source === undefined) {
    const url = new URL(`../redis/${name}.lua`, import.meta.url);
    try {
      source = readFileSync(url, 'utf8');
    } catch (err) {
      throw new Error(
        `Cannot read the evictd Redis script ${url.pathname}: ship the schemas/redis/ folder next to schemas/dist/ ` +
          '(it is listed in @evictd/schemas "files")',
        { cause: err },
      );
    }
    scriptCache.set(name, source);
  }
  return source;
}
