/** The targets by type: each builds its client from its settings (targets.<name> in the config). */
import type { EvictdConfig, TargetSettings } from '../config/index.js';
import { describeError } from '../errors.js';
import { compilePlan, createHttpTarget } from './http/index.js';
import { createMemcachedTarget, memcachedTagProblem } from './memcached/index.js';
import { createRedisTarget } from './redis.js';
import type { Target, TargetContext } from './target.js';

export function createTarget(name: string, settings: TargetSettings, ctx: TargetContext): Promise<Target> {
  switch (settings.type) {
    case 'redis':
      return createRedisTarget(settings, name, ctx);
    case 'memcached':
      return createMemcachedTarget(settings, name, ctx);
    case 'http':
      return createHttpTarget(settings, name, ctx);
  }
}

/**
 * What each target's start would refuse in the config alone (Memcached with tagged rules, an HTTP
 * template naming an unknown field...), for check-config; the targets check the same at start.
 */
export function targetProblems(config: EvictdConfig): string[] {
  const problems: string[] = [];
  for (const [name, settings] of Object.entries(config.targets)) {
    if (settings.type === 'memcached') {
      const problem = memcachedTagProblem(name, settings, config);
      if (problem) problems.push(problem);
    } else if (settings.type === 'http') {
      try {
        compilePlan(settings, name);
      } catch (err) {
        problems.push(describeError(err));
      }
    }
  }
  return problems;
}

export type { ApplyContext, ApplyOutcome, Target, TargetContext, TargetOutage, TargetType } from './target.js';
export { createInvalidatorMetrics, type InvalidatorMetrics } from './metrics.js';
export { redisClientOptions } from './redis.js';
