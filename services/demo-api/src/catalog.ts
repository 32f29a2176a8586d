/**
 * Cache-aside reads through @evictd/cache. The keys and tags here are the ones the demo rules
 * (demo/evictd.yaml) produce from row changes: keep both in step.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { codecs, type Cache, type CacheEvent } from '@evictd/cache';
import type { Category, Product, Shop } from './shop.js';

export const cacheKeys = {
  product: (id: number) => `product:${id}`,
  category: (id: number) => `category:${id}`,
  categoryProducts: (id: number) => `category:${id}:products`,
  categoryTag: (id: number) => `category:${id}`,
};

/** DEGRADED: Redis down or slow (or the breaker open), answered from Postgres without filling. */
export type CacheOutcome = 'HIT' | 'MISS' | 'DEGRADED';
/** Where a HIT came from: this process's L1, or Redis. */
export type CacheTier = 'l1' | 'redis' | null;

export interface CachedRead<T> {
  /** null: not in the database (never cached). */
  value: T | null;
  outcome: CacheOutcome;
  tier: CacheTier;
  key: string;
  /** The read's tags: with its key, the surrogate keys an HTTP cache in front is purged by. */
  tags: readonly string[];
}

/** What the cache reported during one read: its events run in the caller's async context. */
const readScope = new AsyncLocalStorage<{ l1Hit: boolean; degraded: boolean }>();

/** Pass every cache event here (the cache's onEvent): it tells the read in progress its tier. */
export function noteReadEvent(event: CacheEvent): void {
  const scope = readScope.getStore();
  if (!scope) return;
  if (event.type === 'l1-hit') scope.l1Hit = true;
  else if (event.type === 'degraded') scope.degraded = true;
}

export interface Catalog {
  product(id: number): Promise<CachedRead<Product>>;
  category(id: number): Promise<CachedRead<Category>>;
  categoryProducts(id: number): Promise<CachedRead<Product[]>>;
}

class NotFound extends Error {}

export function createCatalog(cache: Cache, shop: Shop, ttlMs: number, onRead: (read: CachedRead<unknown>) => void): Catalog {
  async function read<T>(key: string, load: () => Promise<T | null>, tags: string[]): Promise<CachedRead<T>> {
    // The loader runs only on a miss, so it tells this request's outcome even under concurrency.
    let outcome: CacheOutcome = 'HIT';
    let result: CachedRead<T>;
    const scope = { l1Hit: false, degraded: false };
    const tier = (): CacheTier => (outcome !== 'HIT' ? null : scope.l1Hit ? 'l1' : 'redis');
    try {
      const value = await readScope.run(scope, () => cache.getOrLoad(
        key,
        async () => {
          outcome = 'MISS';
          const row = await load();
          // Absent rows are not cached: throwing releases the fill lease.
          if (row === null) throw new NotFound();
          return row;
        },
        { ttlMs, tags, codec: codecs.json<T>() },
      ));
      if (scope.degraded) outcome = 'DEGRADED';
      result = { value, outcome, tier: tier(), key, tags };
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      if (scope.degraded) outcome = 'DEGRADED';
      result = { value: null, outcome, tier: tier(), key, tags };
    }
    onRead(result);
    return result;
  }

  return {
    product: (id) => read(cacheKeys.product(id), () => shop.getProduct(id), []),
    category: (id) => read(cacheKeys.category(id), () => shop.getCategory(id), []),
    categoryProducts: (id) => read(cacheKeys.categoryProducts(id), () => shop.listCategoryProducts(id), [cacheKeys.categoryTag(id)]),
  };
}
