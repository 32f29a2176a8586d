import { requiredOldColumns, splitTableName, type Problem, type Rules, type TableRule } from './compile.js';

export type ReplicaIdentity = 'default' | 'full' | 'index' | 'nothing';

/** What the rules need to know about one table, as plain data (read by `readCatalog`). */
export interface TableInfo {
  readonly columns: readonly string[];
  readonly primaryKey: readonly string[];
  readonly replicaIdentity: ReplicaIdentity;
  /** Columns whose old values Postgres sends on UPDATE/DELETE (all of them under FULL). */
  readonly identityColumns: readonly string[];
}

/** Tables by `schema.table`; a table missing from the database is absent. */
export type Catalog = ReadonlyMap<string, TableInfo>;

/** The subset of pg's Client/Pool this needs. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

const IDENTITY: Record<string, ReplicaIdentity> = { d: 'default', f: 'full', i: 'index', n: 'nothing' };

const CATALOG_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relreplident AS ident,
  array(SELECT a.attname::text FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
  array(SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY a.attnum) AS pk,
  array(SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = c.oid AND i.indisreplident ORDER BY a.attnum) AS ident_index
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = $1 AND c.relname = $2`;

interface CatalogRow {
  schema: string;
  name: string;
  ident: string;
  columns: string[];
  pk: string[];
  ident_index: string[];
}

/** Reads columns, primary key and replica identity of the given `schema.table`s (one query each). */
export async function readCatalog(client: Queryable, tables: readonly string[]): Promise<Catalog> {
  const catalog = new Map<string, TableInfo>();
  for (const table of tables) {
    const split = splitTableName(table);
    if (!split) continue;
    const { rows } = await client.query(CATALOG_SQL, [split.schema, split.name]);
    const row = rows[0] as CatalogRow | undefined;
    if (row) catalog.set(table, tableInfo(row));
  }
  return catalog;
}

function tableInfo(row: CatalogRow): TableInfo {
  const replicaIdentity = IDENTITY[row.ident] ?? 'nothing';
  const identityColumns = { default: row.pk, full: row.columns, index: row.ident_index, nothing: [] }[replicaIdentity];
  return { columns: row.columns, primaryKey: row.pk, replicaIdentity, identityColumns };
}

function identityText(table: string, info: TableInfo): string {
  switch (info.replicaIdentity) {
    case 'full':
      return `REPLICA IDENTITY FULL`;
    case 'nothing':
      return `${table} has REPLICA IDENTITY NOTHING, which sends no old values`;
    case 'index':
      return `${table} has REPLICA IDENTITY USING INDEX, which sends only the old ${info.identityColumns.join(', ')}`;
    case 'default':
      return info.primaryKey.length === 0
        ? `${table} has REPLICA IDENTITY DEFAULT and no primary key, so Postgres sends no old values`
        : `${table} has REPLICA IDENTITY DEFAULT, which sends only the old primary key (${info.primaryKey.join(', ')})`;
  }
}

/**
 * Checks the rules against the live catalog: tables and columns exist, and the replica identity
 * sends every old value the templates need (else the old row's keys could not be computed).
 * Pure: the caller reads the catalog.
 */
export function checkAgainstCatalog(rules: Rules, catalog: Catalog): Problem[] {
  const problems: Problem[] = [];
  for (const rule of rules.tables.values()) {
    const base = `tables.${rule.table}`;
    const info = catalog.get(rule.table);
    const at = (path: string, message: string) => problems.push({ file: rules.file, path, message });
    if (!info) {
      at(base, `table ${rule.table} does not exist (or evictd's database user cannot see it): create it, grant access, or fix the name`);
      continue;
    }
    const known = new Set(info.columns);
    const unknown = (column: string) => !known.has(column);
    for (const [field, templates] of [['keys', rule.keys], ['tags', rule.tags]] as const) {
      templates.forEach((template, i) => {
        for (const column of template.columns.filter(unknown)) {
          at(`${base}.${field}[${i}]`, `"${template.source}" uses column "${column}", which ${rule.table} does not have (columns: ${info.columns.join(', ')})`);
        }
      });
    }
    rule.columns?.forEach((column, i) => {
      if (unknown(column)) at(`${base}.columns[${i}]`, `column "${column}" does not exist in ${rule.table} (columns: ${info.columns.join(', ')})`);
    });
    checkOldValues(rule, info, at);
  }
  return problems;
}

function checkOldValues(rule: TableRule, info: TableInfo, at: (path: string, message: string) => void): void {
  const sent = new Set(info.identityColumns);
  const lacking = new Set(requiredOldColumns(rule).filter((c) => info.columns.includes(c) && !sent.has(c)));
  if (lacking.size === 0) return;
  for (const [field, templates] of [['keys', rule.keys], ['tags', rule.tags]] as const) {
    templates.forEach((template, i) => {
      const missing = template.columns.filter((c) => lacking.has(c));
      if (missing.length === 0) return;
      at(
        `tables.${rule.table}.${field}[${i}]`,
        `"${template.source}" needs the old value of ${missing.join(', ')} on UPDATE and DELETE, but ${identityText(rule.table, info)}: ` +
          `run ALTER TABLE ${rule.schema}.${rule.name} REPLICA IDENTITY FULL (or use only primary key columns in the template)`,
      );
    });
  }
}
