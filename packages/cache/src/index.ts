export { createCache, DEFAULT_TTL_MS, type Cache, type CacheOptions, type LoadOptions, type Loader } from './cache.js';
export { codecs, type Codec } from './codec.js';
export {
  drainCleanup,
  flushShapes,
  invalidateKeysAndTags,
  pendingCleanups,
  type InvalidationInput,
  type InvalidationResult,
  type ShapeFlushResult,
} from './invalidate.js';
export { loadKeyRegistry } from './registry.js';
export { FILL_REJECT_REASONS, type CacheEvent, type CacheStats, type FillRejectReason } from './stats.js';
export { DEFAULT_WAIT_POLICY, type WaitPolicy } from './stampede.js';
// Apps configure the layout without depending on @evictd/schemas themselves.
export {
  createKeyRegistry,
  createRedisLayout,
  type KeyRegistry,
  type RedisLayout,
  type RedisLayoutOptions,
  type RegistryTables,
} from '@evictd/schemas';
