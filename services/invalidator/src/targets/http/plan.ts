/**
 * From settings to requests, pure: `compilePlan` resolves preset + overrides and compiles every
 * template once (config errors name targets.<name>.<setting>); `plan.requests(batch)` turns one
 * batch into the requests that purge all of it.
 *
 * What each part of a batch becomes:
 *   tags            -> `tags` requests, at most maxPerRequest tags each
 *   keys            -> `urls` requests for keys a keyUrls entry maps; the others are purged as
 *                      tags (keysAsTags, default) or not at all (keysAsTags: false)
 *   tag shapes      -> one `shape` request each: every surrogate key matching the glob
 *   key shapes      -> a `shape` request (keysAsTags) and a `urlShape` request per keyUrls entry
 *                      whose keys the glob can match (every URL that entry can produce)
 * A shape is never dropped: where the cache cannot select by pattern the presets purge everything.
 */
import { EvictdError } from '../../errors.js';
import { PRESETS } from './presets.js';
import { HTTP_OPERATIONS, type HttpOperation, type HttpTargetSettings, type RequestTemplateSettings } from './settings.js';
import { compileTemplate, type CompiledTemplate, type TemplateValues } from './template.js';

export interface PlannedRequest {
  readonly op: HttpOperation;
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Tags, keys, URLs or shapes this request purges (for metrics and logs). */
  readonly items: readonly string[];
}

export interface HttpPlan {
  readonly ratePerSec: number;
  requests(batch: { keys: readonly string[]; tags: readonly string[]; keyShapes: readonly string[]; tagShapes: readonly string[] }): PlannedRequest[];
}

interface CompiledRequest {
  readonly method: string;
  readonly url: CompiledTemplate;
  readonly headers: ReadonlyArray<readonly [string, CompiledTemplate]>;
  readonly body?: CompiledTemplate;
  readonly maxPerRequest: number;
  readonly maxBytesPerRequest: number;
}

/** Placeholders each operation can use, besides {{baseUrl}} and {{params.NAME}}. */
const OPERATION_NAMES: Record<HttpOperation, readonly string[]> = {
  tags: ['items', 'item', 'regex'],
  urls: ['items', 'item', 'url', 'path', 'host', 'origin'],
  shape: ['glob', 'regex', 'prefix'],
  urlShape: ['glob', 'regex', 'prefix', 'host', 'origin', 'pathRegex', 'pathPrefix', 'hostPrefix'],
};
/** Placeholders that stand for one item: their template must send one item per request. */
const SINGLE = new Set(['item', 'url', 'path', 'host', 'origin']);

/** A wildcard marker that survives URL-encoding as %00. */
const WILD = '\u0000';

export function compilePlan(settings: HttpTargetSettings, name: string): HttpPlan {
  const where = `targets.${name}`;
  const preset = settings.preset === undefined ? undefined : PRESETS[settings.preset];
  const baseUrl = (settings.baseUrl ?? preset?.baseUrl)?.replace(/\/+$/, '');
  const common: Record<string, string> = {};
  if (baseUrl !== undefined) {
    if (!/^https?:\/\/[^/]/.test(baseUrl)) throw configError(`${where}.baseUrl`, `"${baseUrl}" is not an http:// or https:// URL`);
    common.baseUrl = baseUrl;
  }
  for (const [param, value] of Object.entries(settings.params)) common[`params.${param}`] = value;
  for (const param of preset?.params ?? []) {
    if (settings.params[param] === undefined) throw configError(`${where}.params.${param}`, `preset ${settings.preset} needs params.${param}`);
  }
  const commonNames = Object.keys(common);

  const ops = {} as Record<HttpOperation, CompiledRequest | undefined>;
  for (const op of HTTP_OPERATIONS) {
    const merged = mergeRequest(preset?.requests[op], settings.requests[op]);
    if (merged === undefined) continue;
    const opWhere = `${where}.requests.${op}`;
    if (merged.url === undefined || merged.method === undefined) {
      throw configError(opWhere, `needs ${merged.url === undefined ? 'url' : 'method'} (no preset provides it)`);
    }
    const allowed = new Set([...commonNames, ...OPERATION_NAMES[op]]);
    if (!allowed.has('baseUrl') && /\{\{\s*baseUrl/.test(JSON.stringify(merged))) {
      throw configError(`${where}.baseUrl`, `is required: ${opWhere} uses {{baseUrl}}`);
    }
    const headers = Object.entries({ ...settings.headers, ...merged.headers }).map(([h, v]) => [h, compileTemplate(v, allowed, `${opWhere}.headers.${h}`)] as const);
    const compiled: CompiledRequest = {
      method: merged.method.toUpperCase(),
      url: compileTemplate(merged.url, allowed, `${opWhere}.url`),
      headers,
      ...(merged.body === undefined ? {} : { body: compileTemplate(merged.body, allowed, `${opWhere}.body`) }),
      maxPerRequest: op === 'shape' || op === 'urlShape' ? 1 : merged.maxPerRequest ?? 1,
      maxBytesPerRequest: merged.maxBytesPerRequest ?? Infinity,
    };
    const single = [compiled.url, ...headers.map(([, t]) => t), ...(compiled.body ? [compiled.body] : [])].flatMap((t) => [...t.names]).filter((n) => SINGLE.has(n));
    if (single.length > 0 && compiled.maxPerRequest !== 1 && (op === 'tags' || op === 'urls')) {
      throw configError(`${opWhere}.maxPerRequest`, `must be 1: the request uses {{${single[0]}}}, which stands for one item (use {{items}} to send several)`);
    }
    ops[op] = compiled;
  }

  const missing = (op: HttpOperation, why: string) => {
    if (ops[op] === undefined) throw configError(`${where}.requests.${op}`, `is required (or a preset): ${why}`);
  };
  missing('tags', 'tags are purged with it');
  missing('shape', 'table-wide invalidations (TRUNCATE, lost-slot flush) purge shapes with it, and must never be dropped');
  const keyUrls = settings.keyUrls.map((m, i) => compileKeyUrl(m.prefix, m.url, new Set([...commonNames, 'key', 'suffix']), common, `${where}.keyUrls[${i}]`));
  if (keyUrls.length > 0) {
    missing('urls', 'keyUrls maps keys to URLs');
    missing('urlShape', 'keyUrls maps keys to URLs, and a table-wide invalidation purges every URL a mapping produces');
  }

  const render = (op: HttpOperation, req: CompiledRequest, values: TemplateValues, items: readonly string[]): PlannedRequest => {
    const all = { ...common, ...values };
    const headers: Record<string, string> = {};
    for (const [h, t] of req.headers) headers[h] = t.render(all);
    return { op, method: req.method, url: req.url.render(all), headers, ...(req.body ? { body: req.body.render(all) } : {}), items };
  };

  return {
    ratePerSec: settings.ratePerSec ?? preset?.ratePerSec ?? 0,
    requests(batch) {
      const out: PlannedRequest[] = [];
      const tags = new Set(batch.tags);
      const urls = new Set<string>();
      for (const key of batch.keys) {
        const mapping = keyUrls.find((m) => key.startsWith(m.prefix));
        if (mapping) urls.add(mapping.render(key));
        else if (settings.keysAsTags) tags.add(key);
      }
      const tagReq = ops.tags!;
      for (const chunk of chunks([...tags], tagReq.maxPerRequest, tagReq.maxBytesPerRequest)) {
        out.push(render('tags', tagReq, { items: chunk, item: chunk[0]!, regex: tokenRegex(chunk.map(escapeRegex)) }, chunk));
      }
      if (urls.size > 0) {
        const urlReq = ops.urls!;
        for (const chunk of chunks([...urls], urlReq.maxPerRequest, urlReq.maxBytesPerRequest)) {
          const u = new URL(chunk[0]!);
          out.push(render('urls', urlReq, { items: chunk, item: chunk[0]!, url: chunk[0]!, path: u.pathname + u.search, host: u.host, origin: u.origin }, chunk));
        }
      }
      const shapes = new Set(batch.tagShapes);
      // A key shape whose keys all start with a keyUrls prefix is purged by URL only (such keys never go as tags).
      if (settings.keysAsTags) for (const g of batch.keyShapes) if (!keyUrls.some((m) => globPrefix(g).startsWith(m.prefix))) shapes.add(g);
      for (const glob of shapes) {
        out.push(render('shape', ops.shape!, { glob, regex: tokenRegex([globToRegexBody(glob, TOKEN_CHAR)]), prefix: globPrefix(glob) }, [glob]));
      }
      const urlShapes = new Map<string, CompiledKeyUrl>();
      for (const glob of batch.keyShapes) {
        for (const m of keyUrls) if (globMayStartWith(glob, m.prefix)) urlShapes.set(m.urlGlob, m);
      }
      for (const m of urlShapes.values()) {
        out.push(
          render('urlShape', ops.urlShape!, {
            glob: m.urlGlob,
            regex: `^${globToRegexBody(m.urlGlob, '.')}$`,
            prefix: m.origin + m.pathPrefix,
            host: m.host,
            origin: m.origin,
            pathRegex: `^${globToRegexBody(m.pathGlob, '.')}$`,
            pathPrefix: m.pathPrefix,
            hostPrefix: m.host + m.pathPrefix,
          }, [m.urlGlob]),
        );
      }
      return out;
    },
  };
}

interface CompiledKeyUrl {
  readonly prefix: string;
  render(key: string): string;
  /** Every URL the mapping can produce, as a glob (`*` where the key goes). */
  readonly urlGlob: string;
  readonly pathGlob: string;
  readonly pathPrefix: string;
  readonly host: string;
  readonly origin: string;
}

function compileKeyUrl(prefix: string, source: string, allowed: ReadonlySet<string>, common: Record<string, string>, where: string): CompiledKeyUrl {
  const template = compileTemplate(source, allowed, `${where}.url`);
  if (!template.names.has('key') && !template.names.has('suffix')) throw configError(`${where}.url`, 'must use {{key}} or {{suffix}}: every key would purge the same URL');
  const render = (key: string) => template.render({ ...common, key: encodeURIComponent(key), suffix: encodeURIComponent(key.slice(prefix.length)) });
  const sample = template.render({ ...common, key: WILD, suffix: WILD });
  let parsed: URL;
  try {
    parsed = new URL(sample.replaceAll(WILD, 'x'));
  } catch {
    throw configError(`${where}.url`, `"${source}" does not render an absolute URL (write e.g. https://shop.example/products/{{suffix}})`);
  }
  const origin = parsed.origin;
  if (!/^https?:$/.test(parsed.protocol)) throw configError(`${where}.url`, 'must render an http:// or https:// URL');
  if (!sample.startsWith(origin) || sample.slice(0, origin.length).includes(WILD)) throw configError(`${where}.url`, 'the key must go in the path or query, not in the host');
  const pathGlob = escapeGlobText(sample.slice(origin.length)).replaceAll(WILD, '*');
  return {
    prefix,
    render,
    urlGlob: escapeGlobText(origin) + pathGlob,
    pathGlob,
    pathPrefix: sample.slice(origin.length).split(WILD)[0]!,
    host: parsed.host,
    origin,
  };
}

function mergeRequest(base: RequestTemplateSettings | undefined, override: Partial<RequestTemplateSettings> | undefined): Partial<RequestTemplateSettings> | undefined {
  if (base === undefined && override === undefined) return undefined;
  return { ...base, ...override, headers: { ...base?.headers, ...override?.headers } };
}

function configError(path: string, message: string): EvictdError {
  return new EvictdError('CONFIG_INVALID', `${path}: ${message}`, { context: { path, reason: message } });
}

/** Splits items into requests of at most `size` items and `maxBytes` characters (an item longer than that goes alone). */
export function chunks(items: readonly string[], size: number, maxBytes = Infinity): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const item of items) {
    const cost = item.length + 1;
    if (current.length > 0 && (current.length >= size || bytes + cost > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += cost;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Characters of one surrogate key: xkey and Surrogate-Key headers separate keys by spaces (xkey also by commas). */
const TOKEN_CHAR = '[^[:space:],]';
const TOKEN_EDGE_START = '(^|[[:space:],])';
const TOKEN_EDGE_END = '([[:space:],]|$)';

/** A PCRE matching a header that holds one of the alternatives as a whole surrogate key. */
export function tokenRegex(alternatives: readonly string[]): string {
  return `${TOKEN_EDGE_START}(${alternatives.join('|')})${TOKEN_EDGE_END}`;
}

export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}/-]/g, (c) => `\\${c}`);
}

function escapeGlobText(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Splits a Redis-style glob (`*`, `?`, `\` escapes, as templateToGlob writes them) into literal runs and wildcards. */
function globParts(glob: string): Array<{ literal: string } | { wild: '*' | '?' }> {
  const parts: Array<{ literal: string } | { wild: '*' | '?' }> = [];
  let literal = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) literal += glob[++i];
    else if (c === '*' || c === '?') {
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ wild: c });
    } else literal += c;
  }
  if (literal) parts.push({ literal });
  return parts;
}

/** The regex body matching what the glob matches, wildcards standing for runs of `char`. */
export function globToRegexBody(glob: string, char: string): string {
  return globParts(glob)
    .map((p) => ('literal' in p ? escapeRegex(p.literal) : p.wild === '*' ? `${char}*` : char))
    .join('');
}

/** The literal text before the glob's first wildcard. */
export function globPrefix(glob: string): string {
  const first = globParts(glob)[0];
  return first && 'literal' in first ? first.literal : '';
}

/** Whether some string the glob matches starts with `prefix` (conservative: true when unsure). */
export function globMayStartWith(glob: string, prefix: string): boolean {
  const parts = globParts(glob);
  const head = parts[0] && 'literal' in parts[0] ? parts[0].literal : '';
  if (parts.length === 1 && 'literal' in parts[0]!) return head.startsWith(prefix);
  return head.startsWith(prefix) || prefix.startsWith(head);
}
