export { loadConfig, parseConfig, configError } from './load.js';
export { postgresClientConfig } from './postgres.js';
export type { EvictdConfig, TableRuleConfig, TlsFiles, ConfigProblem, TargetSettings, RedisTargetSettings } from './types.js';
