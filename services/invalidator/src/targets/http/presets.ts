/**
 * Request shapes of the caches evictd knows. A preset fills every operation; the config's
 * `requests` overrides single fields. Limits are the vendors' documented ones at the time of
 * writing (see the operator's guide, "HTTP caches and CDNs"); only the Varnish presets are
 * tested against the real server, the CDN ones against a local server that records requests.
 */
import type { HttpOperation, HttpPresetName, RequestTemplateSettings } from './settings.js';

export interface Preset {
  readonly baseUrl?: string;
  readonly ratePerSec?: number;
  /** Params the templates use: missing ones are a config error at start. */
  readonly params: readonly string[];
  readonly requests: Readonly<Record<HttpOperation, RequestTemplateSettings>>;
}

const one = (method: string, url: string, headers: Record<string, string> = {}, body?: string, maxPerRequest = 1, maxBytesPerRequest?: number): RequestTemplateSettings => ({
  method,
  url,
  headers,
  ...(body === undefined ? {} : { body }),
  maxPerRequest,
  ...(maxBytesPerRequest === undefined ? {} : { maxBytesPerRequest }),
});

/**
 * Varnish with the VCL of services/invalidator/src/targets/http/evictd-purge.vcl: PURGE with an
 * xkey-purge header purges by tag (vmod xkey), PURGE to a path purges that URL, BAN with an
 * xkey-ban header bans objects whose xkey header matches a regex (shapes; plain Varnish).
 */
const varnishCommon = {
  urls: one('PURGE', '{{baseUrl}}{{path}}', { Host: '{{host}}' }),
  shape: one('BAN', '{{baseUrl}}/', { 'xkey-ban': '{{regex}}' }),
  urlShape: one('BAN', '{{baseUrl}}/', { 'url-ban-host': '{{host}}', 'url-ban': '{{pathRegex}}' }),
};

export const PRESETS: Readonly<Record<HttpPresetName, Preset>> = {
  'varnish-xkey': {
    params: [],
    // Varnish refuses a header over http_req_hdr_len (8 KB by default): 100 keys and 6,000 characters at most.
    requests: { ...varnishCommon, tags: one('PURGE', '{{baseUrl}}/', { 'xkey-purge': '{{items}}' }, undefined, 100, 6_000) },
  },
  'varnish-ban': {
    params: [],
    // One ban per request, matching any of the request's tags; each ban stays on the ban list until the lurker is done with it.
    // The regex escapes and joins the tags: 4,000 characters of tags keep it inside 8 KB.
    requests: { ...varnishCommon, tags: one('BAN', '{{baseUrl}}/', { 'xkey-ban': '{{regex}}' }, undefined, 50, 4_000) },
  },
  fastly: {
    baseUrl: 'https://api.fastly.com',
    params: ['serviceId'],
    requests: {
      // Bulk purge by surrogate key: up to 256 keys per request, space-separated in Surrogate-Key.
      tags: one('POST', '{{baseUrl}}/service/{{params.serviceId}}/purge', { 'Surrogate-Key': '{{items}}' }, undefined, 256, 16_000),
      urls: one('POST', '{{baseUrl}}/purge/{{host}}{{path}}'),
      // No purge by key prefix: a shape purges the whole service.
      shape: one('POST', '{{baseUrl}}/service/{{params.serviceId}}/purge_all'),
      urlShape: one('POST', '{{baseUrl}}/service/{{params.serviceId}}/purge_all'),
    },
  },
  cloudflare: {
    baseUrl: 'https://api.cloudflare.com/client/v4',
    // Pro plan: 5 purge requests/s per account (Free 5/min, Business 10/s, Enterprise 50/s).
    ratePerSec: 5,
    params: ['zoneId'],
    requests: {
      // 100 tags / URLs / prefixes per request on every plan (Enterprise: 500 URLs).
      tags: one('POST', '{{baseUrl}}/zones/{{params.zoneId}}/purge_cache', { 'Content-Type': 'application/json' }, '{"tags":{{items|json}}}', 100),
      urls: one('POST', '{{baseUrl}}/zones/{{params.zoneId}}/purge_cache', { 'Content-Type': 'application/json' }, '{"files":{{items|json}}}', 100),
      // Tags have no prefix purge: a tag or key shape purges the zone.
      shape: one('POST', '{{baseUrl}}/zones/{{params.zoneId}}/purge_cache', { 'Content-Type': 'application/json' }, '{"purge_everything":true}'),
      // URLs do: every URL under the mapping's literal prefix.
      urlShape: one('POST', '{{baseUrl}}/zones/{{params.zoneId}}/purge_cache', { 'Content-Type': 'application/json' }, '{"prefixes":[{{hostPrefix|json}}]}'),
    },
  },
  akamai: {
    // Fast Purge v3 needs EdgeGrid request signing: point baseUrl at a signing proxy.
    params: ['network', 'cpcode'],
    requests: {
      // Bodies of at most 50,000 bytes: 250 tags of up to 128 characters fit.
      tags: one('POST', '{{baseUrl}}/ccu/v3/delete/tag/{{params.network}}', { 'Content-Type': 'application/json' }, '{"objects":{{items|json}}}', 250, 45_000),
      urls: one('POST', '{{baseUrl}}/ccu/v3/delete/url/{{params.network}}', { 'Content-Type': 'application/json' }, '{"objects":{{items|json}}}', 250, 45_000),
      shape: one('POST', '{{baseUrl}}/ccu/v3/delete/cpcode/{{params.network}}', { 'Content-Type': 'application/json' }, '{"objects":[{{params.cpcode}}]}'),
      urlShape: one('POST', '{{baseUrl}}/ccu/v3/delete/cpcode/{{params.network}}', { 'Content-Type': 'application/json' }, '{"objects":[{{params.cpcode}}]}'),
    },
  },
  bunny: {
    baseUrl: 'https://api.bunny.net',
    params: ['pullZoneId'],
    requests: {
      // One CDN-Tag per request.
      tags: one('POST', '{{baseUrl}}/pullzone/{{params.pullZoneId}}/purgeCache', { 'Content-Type': 'application/json' }, '{"CacheTag":{{item|json}}}'),
      urls: one('POST', '{{baseUrl}}/purge?url={{item|url}}'),
      shape: one('POST', '{{baseUrl}}/pullzone/{{params.pullZoneId}}/purgeCache'),
      urlShape: one('POST', '{{baseUrl}}/pullzone/{{params.pullZoneId}}/purgeCache'),
    },
  },
};
