/** Wires the demo API: Postgres, Redis + @evictd/cache, the timeline observers, the HTTP server. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { createCache, loadKeyRegistry } from '@evictd/cache';
import { createRedisLayout } from '@evictd/schemas';
import { createRequestHandler, type HealthReport } from './app.js';
import { createCatalog } from './catalog.js';
import type { DemoConfig } from './config.js';
import { createEventStream } from './http/events.js';
import { createDemoMetrics } from './metrics.js';
import { createShop } from './shop.js';
import { startChangeFeed } from './timeline/change-feed.js';
import { watchKeyspace } from './timeline/keyspace.js';
import { Timeline } from './timeline/timeline.js';

export interface DemoApi {
  url: string;
  health(): Promise<HealthReport>;
  close(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 2000;

export function createDemoLogger(config: Pick<DemoConfig, 'logLevel'>): Logger {
  return pino({ name: 'evictd-demo-api', level: config.logLevel, redact: { paths: ['url', '*.url', 'password', '*.password'], censor: '[redacted]' } });
}

/** Starts the API; resolves once it listens. `port: 0` in the config picks a free port. */
export async function startDemoApi(config: DemoConfig, logger: Logger = createDemoLogger(config)): Promise<DemoApi> {
  const metrics = createDemoMetrics();
  const events = createEventStream();
  const timeline = new Timeline({ onUpdate: (entry) => events.broadcast('entry', entry) });
  const shop = createShop(config.databaseUrl);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  redis.on('error', (err: unknown) => logger.warn({ err }, 'Redis connection error'));

  const closers: Array<() => Promise<unknown>> = [async () => events.close(), () => shop.close(), () => redis.quit().catch(() => redis.disconnect())];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Reverse start order; keep going when one part fails so nothing is left running.
      for (const closeOne of [...closers].reverse()) await closeOne().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
    })());

  try {
    await redis.connect();
    // Must equal evictd's redis.keyPrefix and markerTtlMs (defaults on both sides).
    const layout = createRedisLayout({ keyPrefix: config.keyPrefix });
    // The same templates evictd maps rows with: fills join their shapes, so a TRUNCATE reaches them.
    const registry = await loadKeyRegistry(config.rulesFile);
    const cache = createCache({ redis, layout, registry, defaultTtlMs: config.cacheTtlMs, onEvent: metrics.recordCacheEvent });
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

    const server = createServer(createRequestHandler({ shop, catalog, timeline, events, metrics, health, logger }));
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
