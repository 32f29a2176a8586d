export { parseDemoConfig, loadDemoConfig, DemoConfigError, type DemoConfig } from './config.js';
export { startDemoApi, createDemoLogger, type DemoApi } from './server.js';
export { startDemo, startEvictd, applyDemoSchema, type RunningDemo, type EvictdChild, type ApiChild, type StartDemoOptions } from './pipeline.js';
export type { RedisControl } from './instances.js';
export { DEMO_RULES_FILE } from './config.js';
export { cacheKeys } from './catalog.js';
