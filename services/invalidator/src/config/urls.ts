import { redactUrl } from '../observability/log.js';
import type { ConfigProblem } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

interface UrlSetting {
  path: string;
  envName: string;
  protocols: readonly string[];
  example: string;
  socketPaths?: boolean;
}

const POSTGRES_URL: UrlSetting = { path: 'postgres.url', envName: 'DATABASE_URL', protocols: ['postgres:', 'postgresql:'], example: 'postgres://user:password@host:5432/database', socketPaths: true };
const REDIS_URL: UrlSetting = { path: 'redis.url', envName: 'REDIS_URL', protocols: ['redis:', 'rediss:'], example: 'redis://host:6379' };

/**
 * What would otherwise fail only once evictd connects, or not at all: a URL that does not parse
 * (a bad port), the wrong scheme, or a port out of range. Each problem names the setting (and the
 * variable it came from) and never shows a password.
 */
export function checkUrl(value: string | undefined, setting: UrlSetting, env: Env, problems: ConfigProblem[]): void {
  if (value === undefined) return;
  if (setting.socketPaths && (value.startsWith('/') || value.startsWith('socket:'))) return; // a unix socket, for node-postgres
  const from = env[setting.envName] ? ` (from ${setting.envName})` : '';
  const problem = (what: string) => problems.push({ path: setting.path, message: `${what}${from}: "${redactUrl(value)}"; expected ${setting.example}` });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problem('is not a valid URL (a port must be a number from 1 to 65535; percent-encode special characters in the user and password)');
    return;
  }
  if (!setting.protocols.includes(url.protocol)) {
    problem(`has the scheme "${url.protocol.slice(0, -1)}", not ${setting.protocols.map((p) => p.slice(0, -1)).join(' or ')}`);
    return;
  }
  if (url.port === '0') problem('has port 0');
}

export function checkConnectionUrls(config: { postgres: { url?: string }; redis: { url?: string } }, env: Env, problems: ConfigProblem[]): void {
  checkUrl(config.postgres.url, POSTGRES_URL, env, problems);
  checkUrl(config.redis.url, REDIS_URL, env, problems);
}
