import type { Invalidation } from '../rules/index.js';

/** Everything one Kafka batch invalidates, deduplicated: one Redis pass per batch. */
export interface BatchInvalidation {
  readonly keys: string[];
  readonly tags: string[];
  readonly keyShapes: string[];
  readonly tagShapes: string[];
}

/** Merges the invalidations of a batch; a key covered by a shape of the same batch is still kept (cheap, exact). */
export function mergeInvalidations(items: Iterable<Invalidation>): BatchInvalidation {
  const keys = new Set<string>();
  const tags = new Set<string>();
  const keyShapes = new Set<string>();
  const tagShapes = new Set<string>();
  for (const item of items) {
    for (const k of item.keys) keys.add(k);
    for (const t of item.tags) tags.add(t);
    for (const g of item.keyShapes) keyShapes.add(g);
    for (const g of item.tagShapes) tagShapes.add(g);
  }
  return { keys: [...keys], tags: [...tags], keyShapes: [...keyShapes], tagShapes: [...tagShapes] };
}

export function isEmpty(batch: BatchInvalidation | Invalidation): boolean {
  return batch.keys.length + batch.tags.length + batch.keyShapes.length + batch.tagShapes.length === 0;
}
