import type { TableRuleConfig } from '../config/index.js';
import { EvictdError } from '../errors.js';
import { parseTemplate, TemplateSyntaxError, type Template } from '@evictd/schemas';

/** The `tables` section of the config, already validated against schemas/config.schema.json. */
export type RulesSection = Readonly<Record<string, TableRuleConfig>>;

export interface TableRule {
  /** `schema.table`, the key of the rules section. */
  readonly table: string;
  readonly schema: string;
  readonly name: string;
  readonly keys: readonly Template[];
  readonly tags: readonly Template[];
  /** Column filter: only changes to these columns (or to template columns) invalidate. Null: every change. */
  readonly columns: readonly string[] | null;
  /**
   * Columns whose change makes an UPDATE invalidate: the filter plus every template column (a
   * changed key or tag value means the old key/tag must go, whatever the filter says). Null: all.
   */
  readonly watched: readonly string[] | null;
}

export interface Rules {
  /** The rules file, for messages. */
  readonly file: string;
  readonly tables: ReadonlyMap<string, TableRule>;
}

/** One thing wrong with the rules, located by its path in the file (`tables.public.products.keys[1]`). */
export interface Problem {
  readonly file: string;
  readonly path: string;
  readonly message: string;
}

export function formatProblem(problem: Problem): string {
  return `${problem.file}: ${problem.path}: ${problem.message}`;
}

export function problemsError(code: string, headline: string, problems: readonly Problem[]): EvictdError {
  return new EvictdError(code, `${headline}:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`, {
    context: { problems },
  });
}

/** Splits `schema.table`; the schema is required so a rule never lands on the wrong table. */
export function splitTableName(table: string): { schema: string; name: string } | null {
  const dot = table.indexOf('.');
  if (dot <= 0 || dot === table.length - 1) return null;
  return { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

/**
 * Compiles the rules section into immutable rule objects. Collects every problem before failing,
 * so one run of `check-config` (or one failed start) shows them all.
 */
export function compileRules(section: RulesSection, file: string): Rules {
  const problems: Problem[] = [];
  const tables = new Map<string, TableRule>();
  for (const [table, spec] of Object.entries(section)) {
    const base = `tables.${table}`;
    const split = splitTableName(table);
    if (!split) {
      problems.push({ file, path: base, message: `table name "${table}" must be written as schema.table, e.g. public.${table || 'products'}` });
      continue;
    }
    const compile = (field: 'keys' | 'tags'): Template[] =>
      (spec[field] ?? []).flatMap((text, i) => {
        try {
          return [parseTemplate(text)];
        } catch (err) {
          if (!(err instanceof TemplateSyntaxError)) throw err;
          problems.push({ file, path: `${base}.${field}[${i}]`, message: err.message });
          return [];
        }
      });
    const keys = compile('keys');
    const tags = compile('tags');
    if ((spec.keys ?? []).length + (spec.tags ?? []).length === 0) {
      problems.push({ file, path: base, message: 'the rule has no keys and no tags, so it would never invalidate anything: add keys: [...] or tags: [...]' });
    }
    const columns = spec.columns ? [...new Set(spec.columns)] : null;
    if (columns && columns.length === 0) {
      problems.push({ file, path: `${base}.columns`, message: 'an empty column filter would ignore every update: remove "columns" to watch all columns, or list some' });
    }
    const used = [...keys, ...tags].flatMap((t) => t.columns);
    const watched = columns ? [...new Set([...columns, ...used])] : null;
    tables.set(table, { table, ...split, keys, tags, columns, watched });
  }
  if (problems.length > 0) throw problemsError('CONFIG_RULES_INVALID', `invalid rules in ${file}`, problems);
  return { file, tables };
}

/** Every column a rule's templates read. */
export function templateColumns(rule: TableRule): string[] {
  return [...new Set([...rule.keys, ...rule.tags].flatMap((t) => t.columns))];
}

/**
 * Columns whose *old* values the invalidator needs in `before` (UPDATE and DELETE): every
 * template column, so the keys of the old row can be computed. Filter-only columns are not
 * required: when their old values are missing the filter invalidates (conservative), it never misses.
 */
export function requiredOldColumns(rule: TableRule): string[] {
  return templateColumns(rule);
}

/**
 * Templates whose shape matches every key (`{id}` alone: shape `*`): a table-wide invalidation of
 * their table (TRUNCATE, lost-slot flush, an old value the event lacks) then fences and clears
 * every key filled under the registry, not only that table's. Allowed, but worth a look.
 */
export function shapeWarnings(rules: Rules): Problem[] {
  const warnings: Problem[] = [];
  for (const rule of rules.tables.values()) {
    for (const field of ['keys', 'tags'] as const) {
      rule[field].forEach((template, i) => {
        if (template.parts.every((p) => 'column' in p)) {
          warnings.push({
            file: rules.file,
            path: `tables.${rule.table}.${field}[${i}]`,
            message: `"${template.source}" has no literal text, so its shape matches every ${field === 'keys' ? 'key' : 'tag'}: a TRUNCATE of ${rule.table} would invalidate the whole cache; give it a prefix, e.g. "${rule.name}:${template.source}"`,
          });
        }
      });
    }
  }
  return warnings;
}
