/** Helpers for integration tests run by `npm test` (test/run.ts), which exports the stack's addresses. */
import { randomBytes } from 'node:crypto';
import { externalStackEnv, type StackEnv } from '@evictd/infra';

export { waitFor, type WaitOptions } from '@evictd/infra';
export type { StackEnv };

/** DATABASE_URL, KAFKA_BROKERS, REDIS_URL of the running stack; a clear error when run outside the runner. */
export function stackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  const found = externalStackEnv(env);
  if (!found) {
    throw new Error(
      'integration test needs DATABASE_URL, KAFKA_BROKERS and REDIS_URL: run it through `npm test -- <file>` ' +
        '(starts a local stack), or start one with `npm run stack` and export the three lines it prints',
    );
  }
  return found;
}

let counter = 0;

/**
 * A name unique to this process and call, usable unquoted as a Postgres identifier (lowercase,
 * starts with a letter, at most 63 bytes), a Kafka topic or group id, and a Redis key prefix.
 */
export function uniqueName(prefix: string): string {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(prefix)) {
    throw new Error(`uniqueName prefix ${JSON.stringify(prefix)}: use 1-40 of [a-z0-9_], starting with a letter`);
  }
  counter += 1;
  return `${prefix}_${process.pid.toString(36)}${counter.toString(36)}_${randomBytes(4).toString('hex')}`;
}
