export { createCache, DEFAULT_TTL_MS, type Cache, type CacheOptions, type L1View, type LoadOptions, type Loader } from './cache.js';
export { DEFAULT_BREAKER_POLICY, type BreakerPolicy, type BreakerState, type BreakerTransition, type BreakerTransitionReason } from './breaker.js';
export { DEFAULT_L1, type L1Event, type L1FlushReason, type L1Options, type L1SkipReason, type L1Stats } from './l1.js';
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
export { DEGRADE_REASONS, FILL_REJECT_REASONS, type CacheEvent, type CacheStats, type DegradeReason, type FillRejectReason } from './stats.js';
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
