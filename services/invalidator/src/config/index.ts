export { loadConfig, parseConfig, configError } from './load.js';
export type { EvictdConfig, TableRuleConfig, TlsFiles, ConfigProblem } from './types.js';
