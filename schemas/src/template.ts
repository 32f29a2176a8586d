/**
 * Key and tag templates: literal text with `{column}` placeholders; `{{` and `}}` stand for
 * literal braces. Parsing is pure and strict: every mistake is reported with what was found and
 * where, so a typo fails at start instead of producing keys nobody ever reads.
 */

export type TemplatePart = { readonly literal: string } | { readonly column: string };

export interface Template {
  /** The template as written in the rules file. */
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** Distinct placeholder columns in order of first use. */
  readonly columns: readonly string[];
}

export class TemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

export function parseTemplate(source: string): Template {
  if (source.length === 0) throw new TemplateSyntaxError('template is empty');
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const next = source[i + 1];
    if (ch === '{' && next === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && next === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '}') {
      throw new TemplateSyntaxError(`unmatched "}" at position ${i} in "${source}" (write "}}" for a literal brace)`);
    } else if (ch === '{') {
      const end = source.indexOf('}', i + 1);
      if (end === -1) throw new TemplateSyntaxError(`unclosed "{" at position ${i} in "${source}" (write "{{" for a literal brace)`);
      const column = source.slice(i + 1, end);
      if (column.trim().length === 0) throw new TemplateSyntaxError(`empty placeholder "{}" at position ${i} in "${source}": name a column, e.g. {id}`);
      if (column.includes('{')) throw new TemplateSyntaxError(`"{" inside the placeholder at position ${i} in "${source}"`);
      if (column !== column.trim()) throw new TemplateSyntaxError(`placeholder "{${column}}" in "${source}" has surrounding spaces: write {${column.trim()}}`);
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ column });
      i = end + 1;
    } else {
      literal += ch;
      i += 1;
    }
  }
  if (literal) parts.push({ literal });
  const columns = [...new Set(parts.flatMap((p) => ('column' in p ? [p.column] : [])))];
  return { source, parts, columns };
}

/** Turns a placeholder value into its text in a key. Objects (json columns) use their JSON text. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Fills the placeholders from `values` (column -> value). Every column must be present. */
export function renderTemplate(template: Template, values: ReadonlyMap<string, unknown>): string {
  let out = '';
  for (const part of template.parts) {
    if ('literal' in part) out += part.literal;
    else out += formatValue(values.get(part.column));
  }
  return out;
}

const GLOB_SPECIAL = /[*?[\]\\]/g;

/** Escapes Redis glob metacharacters so the text matches itself in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_SPECIAL, (c) => `\\${c}`);
}

/**
 * A Redis glob matching every string the template can produce: placeholders become `*`, literal
 * parts are escaped (`product:{id}:detail` -> `product:*:detail`). Used where values cannot be
 * enumerated (TRUNCATE, lost-slot flush, values the event does not carry).
 */
export function templateToGlob(template: Template): string {
  return template.parts.map((p) => ('literal' in p ? escapeGlob(p.literal) : '*')).join('');
}
