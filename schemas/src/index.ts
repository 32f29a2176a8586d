export { readJsonSchema } from './json-schemas.js';
export * from './envelope.js';
export {
  createRedisLayout,
  redisScriptSource,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_MARKER_TTL_MS,
  type RedisLayout,
  type RedisLayoutOptions,
  type RedisScriptName,
} from './redis-layout.js';
