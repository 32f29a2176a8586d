import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths that may hold credentials; pino replaces them before anything is written. */
const REDACT = [
  'password',
  '*.password',
  'url',
  '*.url',
  'connectionString',
  '*.connectionString',
  'sasl',
  '*.sasl',
  'config.postgres.url',
  'config.redis.url',
];

/**
 * Structured JSON logs on stdout. The level comes from the config (log.level); `silent` is
 * useful in tests.
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } });
}

/**
 * Hides the password in a connection URL, parseable or not (config errors show bad URLs): what
 * lies between `//user:` and the last `@` before the path is replaced.
 */
export function redactUrl(raw: string): string {
  return raw.replace(/(\/\/[^/?#@:]*):[^/?#]*@/, '$1:***@');
}
