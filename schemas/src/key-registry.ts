/**
 * The key registry: the shapes of every key and tag the rules can produce, shared by the
 * invalidator and every client that fills the cache (schemas/redis/LAYOUT.md "Shapes").
 *
 * A shape is the Redis glob of a template (`product:{id}:detail` -> `product:*:detail`). A
 * table-wide invalidation (TRUNCATE, lost-slot flush, a template value the event lacks) cannot
 * name the keys it invalidates, so it invalidates the shapes of the table's templates instead;
 * for that to be O(1), each fill joins the shapes its key and tags match. Both sides compute a
 * shape with the same templateToGlob, so they always agree on its name. Pure.
 */
import { parseTemplate, templateToGlob, TemplateSyntaxError, type Template } from './template.js';
import type { ShapeKind } from './redis-layout.js';

/** The `tables` section of a rules file (or of `evictd registry`'s JSON): templates per table. */
export type RegistryTables = Readonly<Record<string, { readonly keys?: readonly string[]; readonly tags?: readonly string[] }>>;

/** A shape a fill joins: its kind and its glob. */
export interface Shape {
  readonly kind: ShapeKind;
  readonly shape: string;
}

export interface KeyRegistry {
  /** The shapes a fill of `key` with `tags` joins: every key shape the key matches, every tag shape a tag matches. */
  shapesOf(key: string, tags: readonly string[]): Shape[];
  /** Distinct key and tag shapes, for messages and `evictd registry`. */
  readonly keyShapes: readonly string[];
  readonly tagShapes: readonly string[];
}

/** The JSON `evictd registry` writes and `loadKeyRegistry` reads (a rules file works too). */
export interface KeyRegistryDocument {
  readonly evictdKeyRegistry: 1;
  readonly tables: RegistryTables;
}

export class KeyRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRegistryError';
  }
}

interface CompiledShape {
  readonly shape: string;
  readonly pattern: RegExp;
}

const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\]/g;

/** Matches exactly the strings the template can render: placeholders stand for any text. */
function templatePattern(template: Template): RegExp {
  const body = template.parts.map((p) => ('literal' in p ? p.literal.replace(REGEXP_SPECIAL, '\\$&') : '[\\s\\S]*')).join('');
  return new RegExp(`^${body}$`);
}

/**
 * Builds the registry from the rules' templates; every template problem is reported together,
 * with its path (`tables.public.products.keys[1]`). `source` names the file for messages.
 */
export function createKeyRegistry(tables: RegistryTables, source = 'the rules'): KeyRegistry {
  if (tables === null || typeof tables !== 'object' || Array.isArray(tables)) {
    throw new KeyRegistryError(`${source}: "tables" must be a map of schema.table to {keys, tags}, got ${Array.isArray(tables) ? 'a list' : typeof tables}`);
  }
  const problems: string[] = [];
  const byKind: Record<ShapeKind, Map<string, CompiledShape>> = { key: new Map(), tag: new Map() };
  for (const [table, spec] of Object.entries(tables)) {
    for (const [field, kind] of [['keys', 'key'], ['tags', 'tag']] as const) {
      const list: unknown = (spec as Record<string, unknown> | null)?.[field] ?? [];
      if (!Array.isArray(list)) {
        problems.push(`tables.${table}.${field} must be a list of templates`);
        continue;
      }
      list.forEach((text: unknown, i) => {
        try {
          if (typeof text !== 'string') throw new TemplateSyntaxError(`must be a template string, got ${typeof text}`);
          const template = parseTemplate(text);
          const shape = templateToGlob(template);
          if (!byKind[kind].has(shape)) byKind[kind].set(shape, { shape, pattern: templatePattern(template) });
        } catch (err) {
          if (!(err instanceof TemplateSyntaxError)) throw err;
          problems.push(`tables.${table}.${field}[${i}]: ${err.message}`);
        }
      });
    }
  }
  if (problems.length > 0) throw new KeyRegistryError(`${source}: invalid key registry:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  const keyShapes = [...byKind.key.values()];
  const tagShapes = [...byKind.tag.values()];
  return Object.freeze({
    keyShapes: keyShapes.map((s) => s.shape),
    tagShapes: tagShapes.map((s) => s.shape),
    shapesOf(key: string, tags: readonly string[]): Shape[] {
      const out: Shape[] = [];
      for (const s of keyShapes) if (s.pattern.test(key)) out.push({ kind: 'key', shape: s.shape });
      for (const s of tagShapes) if (tags.some((tag) => s.pattern.test(tag))) out.push({ kind: 'tag', shape: s.shape });
      return out;
    },
  });
}

/** The registry document of a rules section: what `evictd registry` prints. */
export function keyRegistryDocument(tables: RegistryTables): KeyRegistryDocument {
  const copy: Record<string, { keys: string[]; tags: string[] }> = {};
  for (const [table, spec] of Object.entries(tables)) copy[table] = { keys: [...(spec.keys ?? [])], tags: [...(spec.tags ?? [])] };
  return { evictdKeyRegistry: 1, tables: copy };
}
