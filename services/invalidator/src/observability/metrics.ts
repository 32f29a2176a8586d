import { Registry, collectDefaultMetrics } from 'prom-client';

export type { Registry };

/**
 * One registry per process. Roles register their own metrics on it; process metrics (RSS, CPU,
 * event loop lag) come with it so every service reports them the same way.
 */
export function createRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'evictd_' });
  return registry;
}
