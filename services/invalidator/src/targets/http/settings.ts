/** A `type: http` entry of the config's targets, after schema defaults (schemas/config.schema.json#/definitions/httpTarget). */
export interface HttpTargetSettings {
  readonly type: 'http';
  readonly groupId: string;
  /** Request shapes to start from; `requests` overrides them per operation. */
  readonly preset?: HttpPresetName;
  /** `{{baseUrl}}` in the request templates: the Varnish listen address, or the CDN's API root (presets have a default). */
  readonly baseUrl?: string;
  /** Values for `{{params.NAME}}` (e.g. serviceId, zoneId, network). */
  readonly params: Readonly<Record<string, string>>;
  /** Headers sent with every request (secrets through "${ENV}"); never logged. */
  readonly headers: Readonly<Record<string, string>>;
  /** Keys no keyUrls entry maps are purged as surrogate keys (the origin tags each response with its cache keys too). */
  readonly keysAsTags: boolean;
  /** Keys purged by URL: the first entry whose prefix the key starts with renders its url template. */
  readonly keyUrls: readonly KeyUrlMapping[];
  readonly requests: Readonly<Partial<Record<HttpOperation, Partial<RequestTemplateSettings>>>>;
  /** Requests per second at most (token bucket, burst of one second's worth); 0 = unlimited. */
  readonly ratePerSec: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Per request, from connect to the end of the response. */
  readonly timeoutMs: number;
  readonly retry: { readonly minDelayMs: number; readonly maxDelayMs: number };
}

export interface KeyUrlMapping {
  readonly prefix: string;
  /** `{{key}}` the whole key, `{{suffix}}` the key after the prefix (both URL-encoded), `{{baseUrl}}`, `{{params.NAME}}`. */
  readonly url: string;
}

/**
 * tags: surrogate keys / cache tags (and keys purged as tags); urls: keys mapped to URLs;
 * shape: every surrogate key matching a glob (table-wide invalidations); urlShape: every URL a
 * keyUrls mapping can produce for a key shape.
 */
export type HttpOperation = 'tags' | 'urls' | 'shape' | 'urlShape';

export const HTTP_OPERATIONS: readonly HttpOperation[] = ['tags', 'urls', 'shape', 'urlShape'];

export interface RequestTemplateSettings {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Items (tags, URLs) per request at most; shapes always go one per request. */
  readonly maxPerRequest: number;
  /** Characters of the request's items together at most (header and body size limits); unset: no limit. */
  readonly maxBytesPerRequest?: number;
}

export type HttpPresetName = 'varnish-xkey' | 'varnish-ban' | 'fastly' | 'cloudflare' | 'akamai' | 'bunny';
