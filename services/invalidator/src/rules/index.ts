export { compileRules, formatProblem, problemsError, requiredOldColumns, shapeWarnings, templateColumns } from './compile.js';
export type { Problem, Rules, RulesSection, TableRule } from './compile.js';
export { checkAgainstCatalog, readCatalog } from './catalog.js';
export type { Catalog, Queryable, ReplicaIdentity, TableInfo } from './catalog.js';
export { inspectRulesAgainstDatabase, type RulesInspection } from './check.js';
export { resolveChange } from './resolve.js';
export type { Invalidation, RowChange } from './resolve.js';
