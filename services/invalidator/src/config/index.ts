export { loadConfig, parseConfig, configError } from './load.js';
export { postgresClientConfig } from './postgres.js';
export type { EvictdConfig, TableRuleConfig, TlsFiles, ConfigProblem } from './types.js';
