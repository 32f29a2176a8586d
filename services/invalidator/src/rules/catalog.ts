import type { ColumnType } from '../types/canonical.js';
import { requiredOldColumns, splitTableName, type Problem, type Rules, type TableRule } from './compile.js';

export type ReplicaIdentity = 'default' | 'full' | 'index' | 'nothing';

/** What the rules need to know about one table, as plain data (read by `readCatalog`). */
export interface TableInfo {
  readonly columns: readonly string[];
  readonly primaryKey: readonly string[];
  readonly replicaIdentity: ReplicaIdentity;
  /** Columns whose old values Postgres sends on UPDATE/DELETE (all of them under FULL). */
  readonly identityColumns: readonly string[];
  /** Each column's type: what turns a Debezium event without a schema into canonical values. */
  readonly columnTypes: ReadonlyMap<string, ColumnType>;
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
        WHERE i.indrelid = c.oid AND i.indisreplident ORDER BY a.attnum) AS ident_index,
  (SELECT json_agg(json_build_object('column', a.attname, 'type', bt.typname, 'typtype', bt.typtype, 'typmod', a.atttypmod,
                                     'elem', et.typname, 'elemtype', et.typtype) ORDER BY a.attnum)
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
     LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS types
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = $1 AND c.relname = $2`;

interface CatalogRow {
  schema: string;
  name: string;
  ident: string;
  columns: string[];
  pk: string[];
  ident_index: string[];
  types: { column: string; type: string; typtype: string; typmod: number; elem: string | null; elemtype: string | null }[] | null;
}

/** numeric(p, s) keeps s in the low 16 bits of typmod - 4; time/timestamp(p) keep p itself; -1: unconstrained. */
function typmodScale(type: string, typmod: number): number | null {
  if (typmod < 0) return null;
  if (type === 'numeric' || type === '_numeric') return typmod >= 4 ? (typmod - 4) & 0xffff : null;
  return /^_?(time|timetz|timestamp|timestamptz)$/.test(type) ? typmod : null;
}

function columnTypes(rows: CatalogRow['types']): ReadonlyMap<string, ColumnType> {
  const out = new Map<string, ColumnType>();
  for (const r of rows ?? []) {
    const scale = typmodScale(r.type, r.typmod);
    const element: ColumnType | null = r.elem === null ? null : { name: r.elem, isEnum: r.elemtype === 'e', scale };
    out.set(r.column, { name: r.type, isEnum: r.typtype === 'e', element, scale });
  }
  return out;
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
  return { columns: row.columns, primaryKey: row.pk, replicaIdentity, identityColumns, columnTypes: columnTypes(row.types) };
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

/**
 * Where Debezium's form of a column type depends on a connector setting (types/canonical.ts
 * turns each back into the canonical value, except where a setting has thrown information away).
 */
const SETTING_DEPENDENT: Readonly<Record<string, string>> = {
  numeric:
    'its form in Debezium events depends on decimal.handling.mode: precise (the default) and string give the same key as evictd, double keeps only a double\'s digits; ' +
    'an unconstrained numeric (no scale) in precise mode also loses trailing zeros (12.50 arrives as 12.5): declare numeric(p,s) or set decimal.handling.mode=string',
  time: 'its form in Debezium events depends on time.precision.mode: adaptive (the default), adaptive_time_microseconds and microseconds give the same key as evictd, connect cuts it to milliseconds; without schemas.enable=true evictd assumes adaptive',
  timestamp: 'its form in Debezium events depends on time.precision.mode: adaptive (the default), adaptive_time_microseconds and microseconds give the same key as evictd, connect cuts it to milliseconds; without schemas.enable=true evictd assumes adaptive',
  interval: 'Debezium\'s default interval.handling.mode=numeric sends approximate microseconds (a month as 30.44 days), from which the key cannot be rebuilt, so evictd invalidates everything the template can produce: set interval.handling.mode=string',
  bytea: 'its form in Debezium events depends on binary.handling.mode: bytes (the default), base64 and base64-url-safe give the same key as evictd, hex only with schemas.enable=true',
  money: 'Debezium sends money as a decimal without its currency symbol, from which the key cannot be rebuilt, so evictd invalidates everything the template can produce: use numeric in the key instead',
};

/**
 * Warnings, not errors: templates using a column whose text in Debezium's events depends on the
 * connector's settings, and (`debeziumTopics`) that Debezium skips TRUNCATE unless told not to.
 */
export function typeWarnings(rules: Rules, catalog: Catalog, options: { debeziumTopics: boolean }): Problem[] {
  const warnings: Problem[] = [];
  for (const rule of rules.tables.values()) {
    const info = catalog.get(rule.table);
    if (!info) continue;
    for (const [field, templates] of [['keys', rule.keys], ['tags', rule.tags]] as const) {
      templates.forEach((template, i) => {
        for (const column of template.columns) {
          const type = info.columnTypes.get(column);
          const name = type?.element?.name ?? type?.name;
          const why = name === undefined ? undefined : SETTING_DEPENDENT[name];
          if (why) warnings.push({ file: rules.file, path: `tables.${rule.table}.${field}[${i}]`, message: `"${template.source}" uses ${rule.table}.${column} (${type?.name}): if these events come from Debezium, ${why}` });
        }
      });
    }
    if (options.debeziumTopics) {
      warnings.push({
        file: rules.file,
        path: `tables.${rule.table}`,
        message: `if ${rule.table}'s events come from Debezium: Debezium drops TRUNCATE unless its connector sets skipped.operations=none (the default, t, skips truncates), and a TRUNCATE it drops leaves every cached key of ${rule.table} stale`,
      });
    }
  }
  return warnings;
}
