import type { Invalidation } from '../rules/index.js';

/** Everything one Kafka batch invalidates, deduplicated: one Redis pass per batch. */
export interface BatchInvalidation {
  readonly keys: string[];
  readonly tags: string[];
  readonly keyGlobs: string[];
  readonly tagGlobs: string[];
}

/** Merges the invalidations of a batch; a key covered by a glob of the same batch is still kept (cheap, exact). */
export function mergeInvalidations(items: Iterable<Invalidation>): BatchInvalidation {
  const keys = new Set<string>();
  const tags = new Set<string>();
  const keyGlobs = new Set<string>();
  const tagGlobs = new Set<string>();
  for (const item of items) {
    for (const k of item.keys) keys.add(k);
    for (const t of item.tags) tags.add(t);
    for (const g of item.keyGlobs) keyGlobs.add(g);
    for (const g of item.tagGlobs) tagGlobs.add(g);
  }
  return { keys: [...keys], tags: [...tags], keyGlobs: [...keyGlobs], tagGlobs: [...tagGlobs] };
}

export function isEmpty(batch: BatchInvalidation | Invalidation): boolean {
  return batch.keys.length + batch.tags.length + batch.keyGlobs.length + batch.tagGlobs.length === 0;
}
