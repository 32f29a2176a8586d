import { ENV_NAMES, type StackEnv } from './stack.js';

const NAMES = Object.values(ENV_NAMES);

/**
 * The servers named by DATABASE_URL, KAFKA_BROKERS and REDIS_URL, when all three are set (use them
 * instead of starting a stack); undefined when none is. Some but not all set is a mistake: it throws.
 */
export function externalStackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv | undefined {
  const missing = NAMES.filter((n) => !env[n]);
  if (missing.length === NAMES.length) return undefined;
  if (missing.length) {
    const set = NAMES.filter((n) => env[n]);
    throw new Error(`${set.join(', ')} set but ${missing.join(', ')} not: set all three to use your own servers, or none to start a local stack`);
  }
  return { DATABASE_URL: env.DATABASE_URL!, KAFKA_BROKERS: env.KAFKA_BROKERS!, REDIS_URL: env.REDIS_URL! };
}
