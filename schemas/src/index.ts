export { readJsonSchema } from './json-schemas.js';
export * from './envelope.js';
