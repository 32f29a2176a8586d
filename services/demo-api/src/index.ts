export { parseDemoConfig, loadDemoConfig, DemoConfigError, type DemoConfig } from './config.js';
export { startDemoApi, createDemoLogger, type DemoApi } from './server.js';
export { startDemo, startEvictd, applyDemoSchema, DEMO_RULES_FILE, type RunningDemo, type EvictdChild } from './pipeline.js';
export { cacheKeys } from './catalog.js';
