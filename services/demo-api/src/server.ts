/** Wires the demo API: Postgres, Redis + @evictd/cache, the timeline observers, the HTTP server. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { createCache, loadKeyRegistry } from '@evictd/cache';
import { createRedisLayout } from '@evictd/schemas';
import { createRequestHandler, type HealthReport } from './app.js';
import { createCatalog, noteReadEvent } from './catalog.js';
import type { DemoConfig } from './config.js';
import { createEventStream } from './http/events.js';
import { createOutage, instanceReport, l1Report, relayPeer, type InstanceReport, type RedisControl } from './instances.js';
import { createDemoMetrics } from './metrics.js';
import { watchEvictdRedis } from './redis-figures.js';
import { createShop } from './shop.js';
import { startChangeFeed } from './timeline/change-feed.js';
import { watchKeyspace } from './timeline/keyspace.js';
import { Timeline } from './timeline/timeline.js';
import { createVarnishProbe } from './timeline/varnish-probe.js';

export interface DemoApi {
  url: string;
  health(): Promise<HealthReport>;
  close(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 2000;
/** How often each instance reports its cache counters and breaker state on its event stream. */
const REPORT_EVERY_MS = 1000;

export interface DemoApiExtras {
  /** Only `npm run demo` passes this (it owns the local stack): the page then offers the Redis-down button. */
  redisControl?: RedisControl;
}

/** One warning when a connection fails (not one per reconnect attempt), one line when it is back. */
export function warnOncePerOutage(conn: Redis, logger: Logger, what: string): void {
  let downSince: number | null = null;
  conn.on('error', (err: unknown) => {
    if (downSince !== null) return;
    downSince = Date.now();
    logger.warn({ err }, `${what} error (retrying; said once until it is back)`);
  });
  conn.on('ready', () => {
    if (downSince === null) return;
    logger.warn({ downForMs: Date.now() - downSince }, `${what} is back`);
    downSince = null;
  });
}

export function createDemoLogger(config: Pick<DemoConfig, 'logLevel'>): Logger {
  return pino({ name: 'evictd-demo-api', level: config.logLevel, redact: { paths: ['url', '*.url', 'password', '*.password'], censor: '[redacted]' } });
}

/** Starts the API; resolves once it listens. `port: 0` in the config picks a free port. */
export async function startDemoApi(config: DemoConfig, logger: Logger = createDemoLogger(config), extras: DemoApiExtras = {}): Promise<DemoApi> {
  const metrics = createDemoMetrics();
  const events = createEventStream();
  // With a Varnish in front (DEMO_VARNISH_URL): each change's page is looked up there until it is purged.
  const varnishProbe = config.varnishUrl
    ? createVarnishProbe({
        url: config.varnishUrl,
        onPurged: (entryId, at, detail) => timeline.varnishObserved(entryId, at, detail),
        onGaveUp: (entryId, reason) => logger.warn({ entryId }, `the timeline's Varnish step: ${reason}`),
      })
    : undefined;
  const timeline = new Timeline({
    onUpdate: (entry) => {
      events.broadcast('entry', entry);
      varnishProbe?.noteEntry(entry);
    },
  });
  const shop = createShop(config.databaseUrl);
  // Start-up fails on the first connection error (the ready/error race below).
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const connected = new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('error', reject);
  });
  warnOncePerOutage(redis, logger, 'Redis connection');

  const closers: Array<() => Promise<unknown>> = [async () => events.close(), async () => varnishProbe?.stop(), () => shop.close(), () => redis.quit().catch(() => redis.disconnect())];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Reverse start order; keep going when one part fails so nothing is left running.
      for (const closeOne of [...closers].reverse()) await closeOne().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
    })());

  try {
    await connected;
    // Must equal evictd's redis.keyPrefix and markerTtlMs (defaults on both sides).
    const layout = createRedisLayout({ keyPrefix: config.keyPrefix });
    // The same templates evictd maps rows with: fills join their shapes, so a TRUNCATE reaches them.
    const registry = await loadKeyRegistry(config.rulesFile);
    const { instance } = config;
    let broadcastReport: () => void = () => undefined;
    const cache = createCache({
      redis,
      layout,
      registry,
      defaultTtlMs: config.cacheTtlMs,
      ...(config.l1 ? { l1: {} } : {}),
      onEvent: (event) => {
        metrics.recordCacheEvent(event);
        noteReadEvent(event);
        const l1 = l1Report(instance, event, Date.now());
        if (l1) events.broadcast('l1', l1);
        if (event.type === 'breaker' || event.type === 'l1-tracking') broadcastReport();
      },
    });
    closers.push(() => cache.close());
    const peerReports = new Map<string, InstanceReport>();
    broadcastReport = () => events.broadcast('instance', instanceReport(instance, cache));
    const reporter = setInterval(broadcastReport, REPORT_EVERY_MS);
    reporter.unref();
    closers.push(async () => clearInterval(reporter));
    if (config.peerUrl) {
      const relay = relayPeer({
        url: config.peerUrl,
        logger,
        onEvent: (event, data) => {
          if (event === 'instance') peerReports.set((data as InstanceReport).instance, data as InstanceReport);
          events.broadcast(event, data);
        },
      });
      closers.push(async () => relay.stop());
    }
    // The page's Redis panel: evictd's Redis INFO figures, when this instance knows evictd's URL.
    const redisFigures = config.evictdMetricsUrl ? watchEvictdRedis({ url: config.evictdMetricsUrl, onReport: (report) => events.broadcast('redis', report) }) : undefined;
    if (redisFigures) closers.push(async () => redisFigures.stop());
    const outage = extras.redisControl ? createOutage(extras.redisControl, (state) => events.broadcast('redis-outage', state), logger) : undefined;
    if (outage) closers.push(() => outage.settle());
    const catalog = createCatalog(cache, shop, config.cacheTtlMs, (read) => timeline.readServed(read.key, read.outcome, Date.now()));

    const keyspace = await watchKeyspace({
      redis,
      layout,
      keyPatterns: ['product:*', 'category:*'],
      logger,
      onObservation: (obs) => timeline.redisObserved(obs),
    });
    closers.push(() => keyspace.stop());
    const feed = startChangeFeed({
      brokers: config.kafkaBrokers,
      topicPrefix: config.topicPrefix,
      logger,
      onEvent: (event, at) => timeline.changeSeen(event, at),
    });
    closers.push(() => feed.stop());

    const health = async (): Promise<HealthReport> => {
      const check = async (what: () => Promise<unknown>) => {
        try {
          await Promise.race([what(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS).unref())]);
          return 'ok';
        } catch (err) {
          return `failing: ${(err as Error).message}`;
        }
      };
      const [postgres, redisState] = await Promise.all([check(() => shop.ping()), check(() => redis.ping())]);
      // The timeline is informative: the API serves without it.
      const detail = { postgres, redis: redisState, timeline: { changeFeed: feed.state(), topics: feed.topics, keyspaceNotifications: keyspace.enabled } };
      return { ok: postgres === 'ok' && redisState === 'ok', detail };
    };

    const demo = {
      info: () => ({ instance, l1: config.l1, peer: config.peerUrl !== null, redisOutage: outage !== undefined, redisFigures: redisFigures !== undefined, varnish: config.varnishUrl !== null }),
      initialEvents: () => {
        const latest = redisFigures?.latest();
        return [
          ...[instanceReport(instance, cache), ...peerReports.values()].map((data) => ({ event: 'instance', data })),
          ...(latest ? [{ event: 'redis', data: latest }] : []),
        ];
      },
      ...(config.peerUrl ? { peerUrl: config.peerUrl } : {}),
      ...(config.varnishUrl ? { varnishUrl: config.varnishUrl } : {}),
      ...(outage ? { beginOutage: (seconds: number) => outage.begin(seconds) } : {}),
    };
    const server = createServer(createRequestHandler({ shop, catalog, timeline, events, metrics, health, logger, demo }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const { address, port } = server.address() as AddressInfo;
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    logger.info({ listen: url, topicPrefix: config.topicPrefix, keyPrefix: config.keyPrefix }, 'demo API listening');
    return { url, health, close };
  } catch (err) {
    await close();
    throw err;
  }
}
