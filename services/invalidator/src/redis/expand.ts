/**
 * The opt-in scan (`invalidate.scanUnregistered`): keys written outside the fenced-fill protocol
 * (a plain SET by another app) are in no shape set, so a table-wide invalidation can only find
 * them by scanning the keyspace for its shapes. O(keyspace): never the path correctness rests on.
 */
import type { Redis } from 'ioredis';
import { escapeGlob, type RedisLayout } from '@evictd/schemas';

export interface Scan {
  /** SCAN MATCH pattern. */
  readonly match: string;
  /** What a match names once `strip` is removed: an application key or a tag. */
  readonly yields: 'key' | 'tag';
  readonly strip: string;
}

/** The fixed part in front of the name in a layout key function (`lease:` + key), checked, not assumed. */
function prefixOf(fn: (name: string) => string, what: string): string {
  const prefix = fn('');
  if (fn('x') !== `${prefix}x`) throw new Error(`Redis layout ${what} is not a plain prefix: cannot scan for it`);
  return prefix;
}

/** evictd's own keys (markers, leases, tag, shape and cleanup sets), never to be taken for application keys. */
export function ownPrefixes(layout: RedisLayout): string[] {
  return [
    prefixOf(layout.leaseKey, 'leaseKey'),
    prefixOf(layout.keyMarkerKey, 'keyMarkerKey'),
    prefixOf(layout.tagMarkerKey, 'tagMarkerKey'),
    prefixOf(layout.tagSetKey, 'tagSetKey'),
    prefixOf((s) => layout.shapeMarkerKey('key', s), 'shapeMarkerKey'),
    prefixOf((s) => layout.shapeMarkerKey('tag', s), 'shapeMarkerKey'),
    prefixOf((s) => layout.shapeSetKey('key', s), 'shapeSetKey'),
    prefixOf((s) => layout.shapeSetKey('tag', s), 'shapeSetKey'),
    layout.cleanupIndexKey,
  ];
}

/** The scans that cover key shapes (as they are) and tag shapes (behind the tag-set prefix). Pure. */
export function planScans(layout: RedisLayout, keyShapes: readonly string[], tagShapes: readonly string[]): Scan[] {
  const tagSet = prefixOf(layout.tagSetKey, 'tagSetKey');
  return [
    ...keyShapes.map((shape): Scan => ({ match: shape, yields: 'key', strip: '' })),
    ...tagShapes.map((shape): Scan => ({ match: `${escapeGlob(tagSet)}${shape}`, yields: 'tag', strip: tagSet })),
  ];
}

/** Runs the scans page by page and yields the application keys and tags each page found (bounded memory). */
export async function* scanPages(
  redis: Redis,
  layout: RedisLayout,
  keyShapes: readonly string[],
  tagShapes: readonly string[],
): AsyncGenerator<{ keys: string[]; tags: string[] }> {
  const own = ownPrefixes(layout);
  for (const scan of planScans(layout, keyShapes, tagShapes)) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', scan.match, 'COUNT', 1000);
      cursor = next;
      const names = found.filter((name) => scan.strip || !own.some((p) => name.startsWith(p))).map((name) => name.slice(scan.strip.length));
      if (names.length > 0) yield scan.yields === 'tag' ? { keys: [], tags: names } : { keys: names, tags: [] };
    } while (cursor !== '0');
  }
}
