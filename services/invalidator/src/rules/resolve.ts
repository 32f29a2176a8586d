import { isDeepStrictEqual } from 'node:util';
import { OP, renderTemplate, templateToGlob, TOAST_UNAVAILABLE, type ChangeEvent, type ChangeKey, type Template } from '@evictd/schemas';
import type { TableRule } from './compile.js';

/** What the resolver needs of an event: its op, both row images and the Kafka key (primary key). */
export type RowChange = Pick<ChangeEvent, 'op' | 'before' | 'after'> & { readonly key: ChangeKey | null };

/**
 * What one event invalidates. Shapes (the templates' globs, as the key registry names them) stand
 * for every key or tag a template can produce: table-wide invalidations fence and clear them whole.
 */
export interface Invalidation {
  readonly keys: string[];
  readonly tags: string[];
  /** Templates whose values cannot be enumerated (TRUNCATE, flush, a value the event lacks). */
  readonly keyShapes: string[];
  readonly tagShapes: string[];
  /** Why templates fell back to their shapes, for logs and metrics (empty on TRUNCATE/flush). */
  readonly unresolved: string[];
}

const UNKNOWN = Symbol('unknown');
type Value = unknown;

/**
 * Old value of a column, or UNKNOWN. With REPLICA IDENTITY DEFAULT an UPDATE that keeps the key
 * has `before: null`; the key columns are then unchanged, so the Kafka key holds their old value.
 */
function oldValue(column: string, change: RowChange): Value {
  const before = change.before;
  if (before === null) {
    if (change.op === OP.UPDATE && change.key && Object.hasOwn(change.key, column)) return change.key[column];
    return UNKNOWN;
  }
  if (!Object.hasOwn(before, column) || before[column] === TOAST_UNAVAILABLE) return UNKNOWN;
  return before[column];
}

/** New value of a column; an unchanged TOASTed column (marked unavailable) equals its old value. */
function newValue(column: string, change: RowChange): Value {
  const after = change.after;
  if (after === null || !Object.hasOwn(after, column)) return UNKNOWN;
  const value = after[column];
  return value === TOAST_UNAVAILABLE ? oldValue(column, change) : value;
}

/** Whether an UPDATE changed the column; when that cannot be told, it counts as changed. */
function changed(column: string, change: RowChange): boolean {
  const after = change.after;
  if (after === null || !Object.hasOwn(after, column)) return true;
  if (after[column] === TOAST_UNAVAILABLE) return false;
  const old = oldValue(column, change);
  if (old === after[column]) return false;
  return old === UNKNOWN || !isDeepStrictEqual(old, after[column]);
}

/** Whether an UPDATE touches what the rule watches (always true without a column filter). */
export function passesFilter(rule: TableRule, change: RowChange): boolean {
  if (change.op !== OP.UPDATE || rule.watched === null) return true;
  return rule.watched.some((column) => changed(column, change));
}

type Image = (column: string, change: RowChange) => Value;

function imagesOf(change: RowChange): Image[] {
  switch (change.op) {
    case OP.CREATE:
    case OP.READ:
      return [newValue];
    case OP.DELETE:
      return [oldValue];
    case OP.UPDATE:
      return [oldValue, newValue];
    case OP.TRUNCATE:
      return [];
  }
}

/**
 * Keys and tags an event invalidates: every template resolved against the old and the new row.
 * A template whose value the event does not carry becomes its shape (invalidate all it can
 * produce) instead of a silent miss. TRUNCATE and flush events turn every template into its shape.
 */
export function resolveChange(rule: TableRule, change: RowChange): Invalidation {
  const out: Invalidation = { keys: [], tags: [], keyShapes: [], tagShapes: [], unresolved: [] };
  if (change.op === OP.TRUNCATE) {
    out.keyShapes.push(...rule.keys.map(templateToGlob));
    out.tagShapes.push(...rule.tags.map(templateToGlob));
    return out;
  }
  if (!passesFilter(rule, change)) return out;
  const images = imagesOf(change);
  const apply = (templates: readonly Template[], names: string[], shapes: string[]) => {
    for (const template of templates) {
      const rendered = new Set<string>();
      const missing = new Set<string>();
      for (const image of images) {
        const values = new Map<string, Value>();
        for (const column of template.columns) {
          const value = image(column, change);
          if (value === UNKNOWN) missing.add(`${image === oldValue ? 'old' : 'new'} ${column}`);
          else values.set(column, value);
        }
        if (values.size === template.columns.length) rendered.add(renderTemplate(template, values));
      }
      if (missing.size > 0) {
        shapes.push(templateToGlob(template));
        out.unresolved.push(`${rule.table} "${template.source}": the event lacks the ${[...missing].join(', ')} value`);
      } else {
        names.push(...rendered);
      }
    }
  };
  apply(rule.keys, out.keys, out.keyShapes);
  apply(rule.tags, out.tags, out.tagShapes);
  return out;
}
