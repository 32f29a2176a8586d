import { fileURLToPath } from 'node:url';

/**
 * The demo API's settings, read from the environment once at start (the only module that reads
 * process.env). Every problem is reported together, naming the variable and what to set.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DemoConfig {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: readonly string[];
  /** Must equal evictd's kafka.topicPrefix: the timeline reads <prefix>.public.products/categories. */
  topicPrefix: string;
  /** Must equal evictd's redis.keyPrefix: markers and tag sets live under it. */
  keyPrefix: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  cacheTtlMs: number;
  /** The evictd rules file whose templates are the cache's key registry (must be evictd's own). */
  rulesFile: string;
  logLevel: LogLevel;
  /** This instance's name on the page (DEMO_INSTANCE), e.g. A or B. */
  instance: string;
  /** The cache's in-process L1 tier (DEMO_L1=off turns it off). */
  l1: boolean;
  /** Another demo API instance (DEMO_PEER_URL) whose L1 events and reads this one relays to its page. */
  peerUrl: string | null;
  /** evictd's HTTP base URL (EVICTD_METRICS_URL): its /metrics' evictd_redis_* figures feed the page's Redis panel. */
  evictdMetricsUrl: string | null;
  /**
   * A Varnish in front of this API (DEMO_VARNISH_URL), purged by evictd's HTTP target: the page
   * then shows when each change's page was purged there and reads through it too.
   */
  varnishUrl: string | null;
}

/** The demo's rules, next to src/ and dist/ alike. */
export const DEMO_RULES_FILE = fileURLToPath(new URL('../demo/evictd.yaml', import.meta.url));

type Env = Readonly<Record<string, string | undefined>>;

export class DemoConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`demo-api: invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DemoConfigError';
  }
}

/** Pure: builds the frozen config from an environment, or throws DemoConfigError listing every problem. */
export function parseDemoConfig(env: Env): DemoConfig {
  const problems: string[] = [];
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const required = (name: string, example: string) => {
    const v = value(name);
    if (v === undefined) problems.push(`${name} is not set: set it, e.g. ${name}=${example}`);
    return v ?? '';
  };
  const url = (name: string, schemes: readonly string[], example: string) => {
    const raw = required(name, example);
    if (raw === '') return raw;
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      // The value may hold a password: never echo it.
    }
    if (!parsed || !schemes.includes(parsed.protocol.replace(/:$/, ''))) {
      problems.push(`${name} is not a ${schemes.join('/')} URL: expected e.g. ${example}`);
    }
    return raw;
  };
  /** An optional server's base URL (scheme, host, port), without its trailing slash; null when unset. */
  const baseUrl = (name: string, what: string, example: string) => {
    const raw = value(name);
    if (raw === undefined) return null;
    if (!/^https?:\/\/[^\s/]+\/?$/.test(raw)) problems.push(`${name} must be ${what}, e.g. ${example}, got ${JSON.stringify(raw)}`);
    return raw.replace(/\/$/, '');
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return n;
  };

  const databaseUrl = url('DATABASE_URL', ['postgres', 'postgresql'], 'postgres://app@127.0.0.1:5432/app');
  const redisUrl = url('REDIS_URL', ['redis', 'rediss'], 'redis://127.0.0.1:6379');
  const brokersRaw = required('KAFKA_BROKERS', '127.0.0.1:9092');
  const kafkaBrokers = brokersRaw.split(',').map((b) => b.trim()).filter(Boolean);
  const badBrokers = kafkaBrokers.filter((b) => !/^[^\s:/]+:\d{1,5}$/.test(b));
  if (brokersRaw !== '' && (kafkaBrokers.length === 0 || badBrokers.length > 0)) {
    problems.push(`KAFKA_BROKERS must be a comma-separated host:port list, got ${JSON.stringify(brokersRaw)}`);
  }
  const topicPrefix = value('EVICTD_TOPIC_PREFIX') ?? 'demo';
  if (!/^[A-Za-z0-9._-]+$/.test(topicPrefix)) {
    problems.push(`EVICTD_TOPIC_PREFIX may hold only letters, digits, ".", "_" and "-" (as evictd's kafka.topicPrefix), got ${JSON.stringify(topicPrefix)}`);
  }
  // An empty prefix is valid (and the default), so this one is read without trimming to undefined.
  const keyPrefix = env.EVICTD_KEY_PREFIX ?? '';
  const host = value('HOST') ?? '127.0.0.1';
  const port = integer('PORT', 8080, 0, 65535);
  const cacheTtlMs = integer('CACHE_TTL_MS', 300_000, 1, 2_147_483_647);
  const rulesFile = value('EVICTD_RULES_FILE') ?? DEMO_RULES_FILE;
  const logLevel = (value('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }

  const instance = value('DEMO_INSTANCE') ?? 'A';
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(instance)) problems.push(`DEMO_INSTANCE must be 1-16 letters, digits, "_" or "-", got ${JSON.stringify(instance)}`);
  const l1Raw = value('DEMO_L1') ?? 'on';
  if (!['on', 'off'].includes(l1Raw)) problems.push(`DEMO_L1 must be on or off, got ${JSON.stringify(l1Raw)}`);
  const peerUrl = baseUrl('DEMO_PEER_URL', 'an http(s) base URL', 'http://127.0.0.1:8081');
  const evictdMetricsUrl = baseUrl('EVICTD_METRICS_URL', "evictd's http(s) base URL", 'http://127.0.0.1:9464');
  const varnishUrl = baseUrl('DEMO_VARNISH_URL', "the Varnish's http(s) base URL", 'http://127.0.0.1:6081');

  if (problems.length > 0) throw new DemoConfigError(problems);
  return Object.freeze({
    databaseUrl, redisUrl, kafkaBrokers: Object.freeze(kafkaBrokers), topicPrefix, keyPrefix, host, port, cacheTtlMs, rulesFile, logLevel,
    instance, l1: l1Raw === 'on', peerUrl, evictdMetricsUrl, varnishUrl,
  });
}

/** The config of this process. */
export function loadDemoConfig(): DemoConfig {
  return parseDemoConfig(process.env);
}
