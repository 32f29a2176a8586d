/** The demo API's Prometheus metrics: cache outcomes from @evictd/cache and HTTP request durations. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheEvent } from '@evictd/cache';

export interface DemoMetrics {
  registry: Registry;
  /** Pass as the cache's onEvent. */
  recordCacheEvent(event: CacheEvent): void;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export function createDemoMetrics(): DemoMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'evictd-demo-api' });
  collectDefaultMetrics({ register: registry, prefix: 'demo_api_' });

  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [registry] });
  const hits = counter('demo_api_cache_hits_total', 'Reads answered from Redis');
  const misses = counter('demo_api_cache_misses_total', 'Reads that ran their loader (Postgres)');
  const fills = counter('demo_api_cache_fills_total', 'Loaded values written to Redis');
  const rejected = counter('demo_api_cache_fill_rejected_total', 'Loaded values not written to Redis (fenced fill), by reason', ['reason']);
  const stampede = counter('demo_api_cache_stampede_waits_total', "Reads that waited for another reader's fill", ['outcome']);
  const requests = new Histogram({
    name: 'demo_api_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  return {
    registry,
    recordCacheEvent(event) {
      switch (event.type) {
        case 'hit': hits.inc(); break;
        case 'miss': misses.inc(); break;
        case 'fill': fills.inc(); break;
        case 'fill-rejected': rejected.inc({ reason: event.reason }); break;
        case 'stampede-wait': stampede.inc({ outcome: 'waited' }); break;
        case 'stampede-timeout': stampede.inc({ outcome: 'timed-out' }); break;
      }
    },
    observeRequest: (method, route, status, seconds) => requests.observe({ method, route, status: String(status) }, seconds),
  };
}
