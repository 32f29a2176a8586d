/**
 * Request templates: text with `{{name}}` or `{{name|filter}}` placeholders, compiled once at start
 * (an unknown name or filter is a config error naming the setting) and rendered per request.
 * Values are strings or lists; a list renders space-separated unless a filter says otherwise:
 *   json  -> JSON (a list becomes an array, a string a quoted string)
 *   comma -> comma-separated
 *   url   -> each value URL-encoded (encodeURIComponent), then space-separated
 */
import { EvictdError } from '../../errors.js';

export type TemplateValue = string | readonly string[];
export type TemplateValues = Readonly<Record<string, TemplateValue>>;

type Part = { literal: string } | { name: string; filter: Filter };
type Filter = 'none' | 'json' | 'comma' | 'url';
const FILTERS = new Set<Filter>(['json', 'comma', 'url']);

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_.-]*)\s*(?:\|\s*([a-z]+)\s*)?\}\}/g;

export interface CompiledTemplate {
  readonly source: string;
  /** Placeholder names used, e.g. to tell whether a request template renders one item or many. */
  readonly names: ReadonlySet<string>;
  render(values: TemplateValues): string;
}

/** `where` names the setting in errors, e.g. `targets.edge.requests.tags.url`. */
export function compileTemplate(source: string, allowed: ReadonlySet<string>, where: string): CompiledTemplate {
  const parts: Part[] = [];
  const names = new Set<string>();
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const [whole, name, filter] = match as unknown as [string, string, string | undefined];
    if (match.index > last) parts.push({ literal: source.slice(last, match.index) });
    if (!allowed.has(name)) {
      const reason = `unknown placeholder {{${name}}}; here you can use ${[...allowed].sort().map((n) => `{{${n}}}`).join(', ')}`;
      throw new EvictdError('CONFIG_INVALID', `${where}: ${reason}`, { context: { path: where, reason } });
    }
    if (filter !== undefined && !FILTERS.has(filter as Filter)) {
      const reason = `unknown filter |${filter} in {{${name}|${filter}}}; the filters are |json, |comma and |url`;
      throw new EvictdError('CONFIG_INVALID', `${where}: ${reason}`, { context: { path: where, reason } });
    }
    names.add(name);
    parts.push({ name, filter: (filter ?? 'none') as Filter });
    last = match.index + whole.length;
  }
  if (last < source.length) parts.push({ literal: source.slice(last) });
  const rest = parts.filter((p): p is { literal: string } => 'literal' in p).find((p) => p.literal.includes('{{'));
  if (rest) {
    const reason = '"{{" that is not a placeholder ({{name}} or {{name|filter}}, name made of letters, digits, _ . -)';
    throw new EvictdError('CONFIG_INVALID', `${where}: ${reason}`, { context: { path: where, reason } });
  }
  return {
    source,
    names,
    render(values) {
      let out = '';
      for (const part of parts) {
        if ('literal' in part) {
          out += part.literal;
          continue;
        }
        const value = values[part.name];
        if (value === undefined) throw new EvictdError('HTTP_TEMPLATE', `${where}: no value for {{${part.name}}}`, { context: { where } });
        out += applyFilter(value, part.filter);
      }
      return out;
    },
  };
}

function applyFilter(value: TemplateValue, filter: Filter): string {
  switch (filter) {
    case 'json':
      return JSON.stringify(value);
    case 'comma':
      return typeof value === 'string' ? value : value.join(',');
    case 'url':
      return typeof value === 'string' ? encodeURIComponent(value) : value.map(encodeURIComponent).join(' ');
    default:
      return typeof value === 'string' ? value : value.join(' ');
  }
}
