export { parseDemoConfig, loadDemoConfig, DemoConfigError, type DemoConfig } from './config.js';
export { startDemoApi, createDemoLogger, type DemoApi } from './server.js';
export { cacheKeys } from './catalog.js';
