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
  type ShapeKind,
} from './redis-layout.js';
export {
  createKeyRegistry,
  keyRegistryDocument,
  KeyRegistryError,
  type KeyRegistry,
  type KeyRegistryDocument,
  type RegistryTables,
  type Shape,
} from './key-registry.js';
export {
  escapeGlob,
  formatValue,
  parseTemplate,
  renderTemplate,
  templateToGlob,
  TemplateSyntaxError,
  type Template,
  type TemplatePart,
} from './template.js';
