export { startStack, ALL_SERVICES, ENV_NAMES, type Stack, type StackEnv, type StackOptions, type EnvNames } from './stack.js';
export type { ServerHandle, ServiceName } from './server.js';
export { externalStackEnv } from './env.js';
export { javaBinary, MissingPrerequisiteError } from './prerequisites.js';
export { waitFor, type WaitOptions } from './wait.js';
export { freePort } from './ports.js';
export { ensureSetup, chromiumPath, PURPOSES, type Purpose } from './setup.js';
