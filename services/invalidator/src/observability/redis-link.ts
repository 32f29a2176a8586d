import type { Redis } from 'ioredis';
import { describeError } from '../errors.js';
import type { Logger } from './log.js';

export interface RedisOutage {
  since: number;
  error: string;
}

/**
 * Follows an ioredis connection so health reflects it without waiting for a deletion to fail:
 * down from construction until the first `ready`, and from any error or closed connection until
 * the next `ready`. (A peer that vanishes without closing the socket shows up through failed
 * deletions instead.) The outage is logged at warn level (again every `repeatMs` while it lasts),
 * the recovery at info.
 */
export function watchRedisLink(redis: Redis, logger: Logger, repeatMs = 30_000, now: () => number = Date.now): { down(): RedisOutage | null } {
  let outage: (RedisOutage & { loggedAt: number }) | null = redis.status === 'ready' ? null : { since: now(), error: 'not connected yet', loggedAt: 0 };
  const fail = (error: string, log: boolean) => {
    const at = now();
    outage ??= { since: at, error, loggedAt: 0 };
    if (log) outage.error = error; // "connection closed" says less than the error before or after it
    if (log && at - outage.loggedAt >= repeatMs) {
      outage.loggedAt = at;
      logger.warn({ err: error, downForMs: at - outage.since }, 'Redis unreachable: /healthz answers 503 and no offset is committed until deletions succeed again');
    }
  };
  redis.on('error', (err: unknown) => fail(describeError(err), true));
  // A lost connection is down at once; the warning comes with the reconnect's error (not on our own disconnect).
  redis.on('close', () => fail('connection closed', false));
  redis.on('ready', () => {
    if (outage && outage.loggedAt > 0) logger.info({ downForMs: now() - outage.since }, 'Redis reachable again');
    outage = null;
  });
  return { down: () => (outage ? { since: outage.since, error: outage.error } : null) };
}
