export { INVALIDATOR_NODE_OPTIONS } from './roles/node-options.js';
