export { createCache, DEFAULT_TTL_MS, type Cache, type CacheOptions, type LoadOptions, type Loader } from './cache.js';
export { codecs, type Codec } from './codec.js';
export { invalidateKeysAndTags, type InvalidationInput, type InvalidationResult } from './invalidate.js';
export { FILL_REJECT_REASONS, type CacheEvent, type CacheStats, type FillRejectReason } from './stats.js';
export { DEFAULT_WAIT_POLICY, type WaitPolicy } from './stampede.js';
// Apps configure the layout without depending on @evictd/schemas themselves.
export { createRedisLayout, type RedisLayout, type RedisLayoutOptions } from '@evictd/schemas';
