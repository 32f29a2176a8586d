/**
 * Cache-aside reads through @evictd/cache. The keys and tags here are the ones the demo rules
 * (demo/evictd.yaml) produce from row changes: keep both in step.
 */
import { codecs, type Cache } from '@evictd/cache';
import type { Category, Product, Shop } from './shop.js';

export const cacheKeys = {
  product: (id: number) => `product:${id}`,
  category: (id: number) => `category:${id}`,
  categoryProducts: (id: number) => `category:${id}:products`,
  categoryTag: (id: number) => `category:${id}`,
};

export type CacheOutcome = 'HIT' | 'MISS';

export interface CachedRead<T> {
  /** null: not in the database (never cached). */
  value: T | null;
  outcome: CacheOutcome;
  key: string;
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
    try {
      const value = await cache.getOrLoad(
        key,
        async () => {
          outcome = 'MISS';
          const row = await load();
          // Absent rows are not cached: throwing releases the fill lease.
          if (row === null) throw new NotFound();
          return row;
        },
        { ttlMs, tags, codec: codecs.json<T>() },
      );
      result = { value, outcome, key };
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      result = { value: null, outcome, key };
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
