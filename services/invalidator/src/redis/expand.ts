/**
 * Turning globs into names: what a TRUNCATE, a lost-slot flush or an unknowable template value
 * invalidates cannot be enumerated from the event, so Redis is scanned for it. Self-contained:
 * apps need not register keys anywhere.
 */
import type { Redis } from 'ioredis';
import type { RedisLayout } from '@evictd/schemas';
import { escapeGlob } from '../rules/template.js';

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

/** evictd's own keys (markers, leases, tag sets), never to be taken for application keys. */
export function ownPrefixes(layout: RedisLayout): string[] {
  return [
    prefixOf(layout.leaseKey, 'leaseKey'),
    prefixOf(layout.keyMarkerKey, 'keyMarkerKey'),
    prefixOf(layout.tagMarkerKey, 'tagMarkerKey'),
    prefixOf(layout.tagSetKey, 'tagSetKey'),
  ];
}

/**
 * The scans that cover the globs. Every fill lease in flight is also covered (its key gets a
 * marker): a loader that read the table before the change could be filling a key or a tag that
 * does not exist yet, which no scan of keys or tag sets can see. Leases are few and short, and a
 * rejected fill only means one uncached read. Pure.
 */
export function planScans(layout: RedisLayout, keyGlobs: readonly string[], tagGlobs: readonly string[]): Scan[] {
  if (keyGlobs.length + tagGlobs.length === 0) return [];
  const lease = prefixOf(layout.leaseKey, 'leaseKey');
  const tagSet = prefixOf(layout.tagSetKey, 'tagSetKey');
  return [
    ...keyGlobs.map((glob): Scan => ({ match: glob, yields: 'key', strip: '' })),
    ...tagGlobs.map((glob): Scan => ({ match: `${escapeGlob(tagSet)}${glob}`, yields: 'tag', strip: tagSet })),
    { match: `${escapeGlob(lease)}*`, yields: 'key', strip: lease },
  ];
}

/**
 * Runs the scans page by page and yields the application keys and tags each page found, so a
 * TRUNCATE of a table with millions of cached rows is deleted in bounded memory.
 */
export async function* scanPages(
  redis: Redis,
  layout: RedisLayout,
  keyGlobs: readonly string[],
  tagGlobs: readonly string[],
): AsyncGenerator<{ keys: string[]; tags: string[] }> {
  const own = ownPrefixes(layout);
  for (const scan of planScans(layout, keyGlobs, tagGlobs)) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', scan.match, 'COUNT', 1000);
      cursor = next;
      const names = found.filter((name) => scan.strip || !own.some((p) => name.startsWith(p))).map((name) => name.slice(scan.strip.length));
      if (names.length > 0) yield scan.yields === 'tag' ? { keys: [], tags: names } : { keys: names, tags: [] };
    } while (cursor !== '0');
  }
}
