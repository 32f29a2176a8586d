export { isEmpty, mergeInvalidations, type BatchInvalidation } from './batch.js';
export { startCleaner, type Cleaner } from './cleanup.js';
export { applyInvalidations, classifyRedisError, type ApplyOptions } from './deleter.js';
export { createRedisTargetMetrics, type RedisTargetMetrics } from './metrics.js';
