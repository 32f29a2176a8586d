/** The validated, frozen configuration. Shapes mirror schemas/config.schema.json after defaults. */
import type { HttpTargetSettings } from '../targets/http/settings.js';
import type { MemcachedTargetSettings } from '../targets/memcached/settings.js';

export interface TlsFiles {
  /** PEM contents, read from the paths in the file at load time (so a wrong path fails at start). */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

export interface TableRuleConfig {
  keys?: readonly string[];
  tags?: readonly string[];
  columns?: readonly string[];
}

export interface EvictdConfig {
  /** Absolute path of the file this came from, for error messages. */
  file: string;
  postgres: {
    url: string;
    slot: string;
    publication: string;
    createPublication: boolean;
    /** Tables of the publication (schema.table): the explicit list or the rule tables. */
    tables: readonly string[];
    ssl?: TlsFiles;
  };
  kafka: {
    brokers: readonly string[];
    clientId: string;
    topicPrefix: string;
    partitions: number;
    replicationFactor: number;
    ssl: boolean | TlsFiles;
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  };
  redis: {
    url: string;
    password?: string;
    tls?: TlsFiles;
    keyPrefix: string;
  };
  publish: {
    maxBatchEvents: number;
    maxBatchBytes: number;
    lingerMs: number;
    maxInFlightBytes: number;
    lostSlot: 'flush' | 'ignore';
    /** Keys and values in Kafka Connect's {schema, payload} form (JsonConverter schemas.enable=true). */
    schemas: boolean;
  };
  invalidate: {
    groupId: string;
    /** Topics to consume: the explicit list or <topicPrefix>.<schema>.<table> of every rule table. */
    topics: readonly string[];
    deadLetterTopic: string;
    markerTtlMs: number;
    maxWaitTimeMs: number;
    sessionTimeoutMs: number;
    /** Opt-in SCAN for keys written outside the protocol on table-wide invalidations (O(keyspace)). */
    scanUnregistered: boolean;
  };
  /** The caches to invalidate, by name, each with its consumer group resolved (see targets in the schema). */
  targets: Readonly<Record<string, TargetSettings>>;
  http: { host: string; port: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /** The rules, keyed by schema.table. */
  tables: Readonly<Record<string, TableRuleConfig>>;
}

export interface RedisTargetSettings {
  readonly type: 'redis';
  readonly groupId: string;
}

/**
 * A target's settings as the loader resolved them. `after` is the target (of this config) that must
 * have confirmed a change before this one applies it, or null for none; the invalidator orders the
 * targets, the targets themselves never see it. Default: the redis target for http targets when
 * there is one (a cache in front of an app that reads through Redis must not be purged first).
 */
export type TargetSettings = (RedisTargetSettings | MemcachedTargetSettings | HttpTargetSettings) & { readonly after: string | null };

export interface ConfigProblem {
  /** Where in the file: e.g. `tables.public.products.keys[1]`; empty for the file itself. */
  path: string;
  message: string;
}
