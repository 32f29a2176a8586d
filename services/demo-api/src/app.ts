/** The demo API's routes: cached reads, writes to Postgres only, "another app", the page and its event stream. */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Catalog, CachedRead } from './catalog.js';
import type { EventStream } from './http/events.js';
import { HttpError, matchRoute, readJson, sendJson, type Route } from './http/router.js';
import { parseId, parseProductPatch } from './input.js';
import type { DemoMetrics } from './metrics.js';
import { InvalidWriteError, type Shop } from './shop.js';
import type { Timeline } from './timeline/timeline.js';

export interface HealthReport {
  ok: boolean;
  detail: Record<string, unknown>;
}

export interface AppDeps {
  shop: Shop;
  catalog: Catalog;
  timeline: Timeline;
  events: EventStream;
  metrics: DemoMetrics;
  health(): Promise<HealthReport>;
  logger: Logger;
  demo?: DemoControls;
}

/** The two-instance view and the local demo's Redis outage (see instances.ts). */
export interface DemoControls {
  /** What this instance offers the page (GET /demo). */
  info(): Record<string, unknown>;
  /** Events each new /events client gets after the timeline snapshot (the instances' latest reports). */
  initialEvents(): Array<{ event: string; data: unknown }>;
  /** The other instance, whose reads /peer/... forwards. */
  peerUrl?: string;
  /** The Varnish in front of this API, whose answers /varnish/... forwards. */
  varnishUrl?: string;
  /** Present only in `npm run demo`: stops Redis for that many seconds; false while one runs. */
  beginOutage?(seconds: number): boolean;
}

const OUTAGE_SECONDS = { default: 5, max: 30 };
const RELAY_TIMEOUT_MS = 5000;
/** What a relayed read keeps of the upstream's answer, besides its body. */
const RELAYED_HEADERS = ['content-type', 'x-cache', 'x-cache-key', 'x-cache-tier', 'x-varnish-cache'];

/** GET `path` from another server for the page (instance B, or the Varnish in front), its status, body and cache headers as they are. */
async function relayRead(res: ServerResponse, base: string | undefined, path: string, absent: string, what: string): Promise<void> {
  if (!base) throw new HttpError(404, absent);
  let upstream: Response;
  try {
    upstream = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(RELAY_TIMEOUT_MS) });
  } catch (err) {
    throw new HttpError(502, `${what} does not answer: ${(err as Error).message}`);
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  for (const h of RELAYED_HEADERS) {
    const v = upstream.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  res.writeHead(upstream.status, headers).end(Buffer.from(await upstream.arrayBuffer()));
}

/** The page: static files next to src/ and dist/ alike, read once. */
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

function loadPage(): Map<string, { body: Buffer; type: string }> {
  return new Map(
    Object.entries(PAGE_FILES).map(([path, { file, type }]) => [path, { body: readFileSync(new URL(`../page/${file}`, import.meta.url)), type }]),
  );
}

function id(raw: string | undefined, what: string): number {
  const parsed = parseId(raw ?? '', what);
  if (!parsed.ok) throw new HttpError(400, parsed.reason);
  return parsed.value;
}

function sendCached(res: ServerResponse, read: CachedRead<unknown>, what: string): void {
  // xkey: the surrogate keys a Varnish in front (npm run demo starts one when varnishd is installed) is purged by.
  const headers = { 'x-cache': read.outcome, 'x-cache-key': read.key, xkey: [read.key, ...read.tags].join(' '), ...(read.tier ? { 'x-cache-tier': read.tier } : {}) };
  if (read.value === null) sendJson(res, 404, { error: `${what} not found` }, headers);
  else sendJson(res, 200, read.value, headers);
}

/** A price change big enough to see, never zero: ±0.10 .. ±3.00. */
function randomPriceDelta(): string {
  const cents = 10 + Math.floor(Math.random() * 291);
  return ((Math.random() < 0.5 ? -cents : cents) / 100).toFixed(2);
}

export function createRequestHandler(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { shop, catalog, timeline, events, metrics, logger } = deps;
  const page = loadPage();

  const routes: Route[] = [
    ...[...page.keys()].map(
      (path): Route => ({
        method: 'GET',
        name: path,
        pattern: new RegExp(`^${path.replace('.', '\\.')}$`),
        handle: ({ res }) => {
          const file = page.get(path)!;
          res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' }).end(file.body);
        },
      }),
    ),
    {
      method: 'GET',
      name: '/products/:id',
      pattern: /^\/products\/([^/]*)$/,
      handle: async ({ res, params }) => sendCached(res, await catalog.product(id(params[0], 'product')), 'product'),
    },
    {
      method: 'PUT',
      name: '/products/:id',
      pattern: /^\/products\/([^/]*)$/,
      async handle({ req, res, params }) {
        const productId = id(params[0], 'product');
        const patch = parseProductPatch(await readJson(req));
        if (!patch.ok) throw new HttpError(400, patch.reason);
        // Postgres only: evictd sees the commit and invalidates; the API never touches the cache on writes.
        const product = await shop.updateProduct(productId, patch.value);
        if (!product) throw new HttpError(404, `product ${productId} not found`);
        sendJson(res, 200, product);
      },
    },
    {
      method: 'POST',
      name: '/another-app/products/:id/price',
      pattern: /^\/another-app\/products\/([^/]*)\/price$/,
      async handle({ res, params }) {
        const productId = id(params[0], 'product');
        const changed = await shop.changePriceDirectly(productId, randomPriceDelta());
        if (!changed) throw new HttpError(404, `product ${productId} not found`);
        sendJson(res, 200, { ...changed, note: 'direct SQL over its own connection: no API, no cache call' });
      },
    },
    {
      method: 'GET',
      name: '/categories',
      pattern: /^\/categories$/,
      // Not cached: the page's table of contents, straight from Postgres.
      handle: async ({ res }) => sendJson(res, 200, await shop.listCategories()),
    },
    {
      method: 'GET',
      name: '/categories/:id',
      pattern: /^\/categories\/([^/]*)$/,
      handle: async ({ res, params }) => sendCached(res, await catalog.category(id(params[0], 'category')), 'category'),
    },
    {
      method: 'GET',
      name: '/categories/:id/products',
      pattern: /^\/categories\/([^/]*)\/products$/,
      handle: async ({ res, params }) => sendCached(res, await catalog.categoryProducts(id(params[0], 'category')), 'category'),
    },
    {
      method: 'GET',
      name: '/events',
      pattern: /^\/events$/,
      handle: ({ res }) => events.attach(res, [{ event: 'snapshot', data: timeline.snapshot() }, ...(deps.demo?.initialEvents() ?? [])]),
    },
    {
      method: 'GET',
      name: '/demo',
      pattern: /^\/demo$/,
      handle: ({ res }) => sendJson(res, 200, deps.demo?.info() ?? {}),
    },
    {
      method: 'GET',
      name: '/peer/*',
      // The page reads through instance B via A: same origin, and B's port need not be reachable.
      pattern: /^\/peer(\/(?:products|categories)\/\d+(?:\/products)?)$/,
      handle: ({ res, params }) => relayRead(res, deps.demo?.peerUrl, params[0] ?? '', 'this instance has no peer (DEMO_PEER_URL)', 'the peer instance'),
    },
    {
      method: 'GET',
      name: '/varnish/*',
      // The page's reads through the Varnish in front of this API: same origin, whatever Varnish's address.
      pattern: /^\/varnish(\/(?:products|categories)\/\d+(?:\/products)?)$/,
      handle: ({ res, params }) => relayRead(res, deps.demo?.varnishUrl, params[0] ?? '', 'no Varnish in front of this API (DEMO_VARNISH_URL)', 'Varnish'),
    },
    {
      method: 'POST',
      name: '/demo/redis-outage',
      pattern: /^\/demo\/redis-outage$/,
      handle({ req, res }) {
        const begin = deps.demo?.beginOutage;
        if (!begin) throw new HttpError(404, 'no Redis control here: only `npm run demo` (which runs the local servers) offers it');
        const raw = new URL(req.url ?? '/', 'http://x').searchParams.get('seconds');
        const seconds = raw === null ? OUTAGE_SECONDS.default : Number(raw);
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > OUTAGE_SECONDS.max) throw new HttpError(400, `seconds must be an integer from 1 to ${OUTAGE_SECONDS.max}, got ${JSON.stringify(raw)}`);
        if (!begin(seconds)) throw new HttpError(409, 'a Redis outage is already running');
        sendJson(res, 202, { seconds });
      },
    },
    {
      method: 'GET',
      name: '/healthz',
      pattern: /^\/healthz$/,
      async handle({ res }) {
        const report = await deps.health();
        sendJson(res, report.ok ? 200 : 503, report);
      },
    },
    {
      method: 'GET',
      name: '/metrics',
      pattern: /^\/metrics$/,
      async handle({ res }) {
        const body = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
      },
    },
  ];

  return (req, res) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = matchRoute(routes, req.method ?? 'GET', path);
    const routeName = 'route' in match ? match.route.name : 'unmatched';
    res.on('finish', () => metrics.observeRequest(req.method ?? '', routeName, res.statusCode, (performance.now() - started) / 1000));
    const run = async () => {
      if ('error' in match) throw match.error;
      await match.route.handle({ req, res, params: match.params });
    };
    run().catch((err: unknown) => {
      if (err instanceof InvalidWriteError) err = new HttpError(400, err.message);
      if (err instanceof HttpError) {
        sendJson(res, err.status, { error: err.message }, err.headers);
        return;
      }
      logger.error({ err, method: req.method, path }, 'request failed');
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: 'internal error (see the demo API log)' });
    });
  };
}
