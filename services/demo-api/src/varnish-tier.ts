/**
 * The demo's optional HTTP tier: a Varnish of its own in front of the demo API (when varnishd is
 * installed), purged by an `edge` target of `evictd run` next to Redis. The API labels each
 * cached answer with its surrogate keys (the `xkey` header: its cache key and tags), so a price
 * change purges that product's page in Varnish as it deletes the key in Redis.
 */
import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MissingPrerequisiteError, startVarnish, type LocalVarnish } from '@evictd/infra';
import { DEMO_RULES_FILE } from './config.js';

const PURGE_VCL = fileURLToPath(new URL('../../invalidator/src/targets/http/evictd-purge.vcl', import.meta.url));
/** What is cached, and the page's lookups; shared with the compose Varnish (demo/varnish-compose.vcl). */
const CACHE_VCL = fileURLToPath(new URL('../demo/varnish-cache.vcl', import.meta.url));

/** The API is the first (default) backend; evictd's purges, then the demo's caching rules. */
function demoVcl(apiHost: string, apiPort: number): string {
  return `vcl 4.1;
backend api { .host = "${apiHost}"; .port = "${apiPort}"; }
include "${PURGE_VCL}";
include "${CACHE_VCL}";
`;
}

export interface VarnishTier {
  readonly url: string;
  /** The evictd config: the demo rules with a redis and an edge target. */
  readonly configFile: string;
  /** Points Varnish at the API once its port is known. */
  useApi(apiUrl: string): void;
  stop(): Promise<void>;
}

/** Starts Varnish (backend set later by useApi) or returns null when varnishd is not installed. */
export async function startVarnishTier(dir: string): Promise<VarnishTier | null> {
  let varnish: LocalVarnish;
  try {
    varnish = await startVarnish({ vcl: demoVcl('127.0.0.1', 9) });
  } catch (err) {
    if (err instanceof MissingPrerequisiteError) return null;
    throw err;
  }
  const configFile = join(dir, 'evictd-with-varnish.yaml');
  // The demo rules file has no targets section: add Redis (as without one) and the Varnish in front of the API.
  const rules = readFileSync(DEMO_RULES_FILE, 'utf8');
  await writeFile(configFile, `${rules}\ntargets:\n  redis: { type: redis }\n  edge: { type: http, preset: varnish-xkey, baseUrl: "${varnish.url}", retry: { maxDelayMs: 2000 } }\n`);
  return {
    url: varnish.url,
    configFile,
    useApi(apiUrl) {
      const u = new URL(apiUrl);
      varnish.useVcl(demoVcl(u.hostname, Number(u.port)));
    },
    stop: () => varnish.stop(),
  };
}
