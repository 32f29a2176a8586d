// Shared by the invalidate-*.test.ts files: a config per test file, the role started in-process,
// and change events written to Kafka in evictd's envelope.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createKeyRegistry, createRedisLayout, type ChangeEvent, type Op, type RedisLayout, type RegistryTables, type RowImage } from '@evictd/schemas';
import { createCache, type Cache } from '@evictd/cache';
import { parseConfig, type EvictdConfig } from '../../services/invalidator/src/config/index.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { createRegistry } from '../../services/invalidator/src/observability/metrics.js';
import { start } from '../../services/invalidator/src/roles/invalidate.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { waitFor, type StackEnv } from '../support/index.js';
import { spawnEvictd, type CapturedProcess } from '../support/process.js';

/** The products table of a test file: `<ns>_products`. */
export const productsTable = (ns: string) => `${ns}_products`;

/** Creates it with REPLICA IDENTITY FULL, so every old value the rules need is sent. */
export async function createProductsTable(db: pg.Client, table: string): Promise<void> {
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, price numeric(10,2), category_id int, stock int)`);
  await db.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
}

/** The rules of a test file: app keys live under `ns:`, and so do evictd's own keys (keyPrefix). */
export function productRules(ns: string, table: string): RegistryTables & Record<string, { columns: string[] }> {
  return {
    [`public.${table}`]: {
      keys: [`${ns}:product:{id}`, `${ns}:product:{id}:detail`],
      tags: [`${ns}:category:{category_id}`],
      columns: ['name', 'price', 'category_id'],
    },
  };
}

/** YAML is a superset of JSON. */
function rulesYaml(ns: string, table: string): string {
  return `tables: ${JSON.stringify(productRules(ns, table))}\n`;
}

/** The app's cache for those rules: fills join the rules' shapes, as in a real app. */
export function productCache(redis: Redis, ns: string, table: string): Cache {
  return createCache({ redis, layout: createRedisLayout({ keyPrefix: `${ns}:` }), registry: createKeyRegistry(productRules(ns, table)), defaultTtlMs: 60_000 });
}

/** An invalidator config on the products table of `ns` (which must exist: the rules are checked at start). */
export function invalidatorConfig(env: StackEnv, ns: string): EvictdConfig {
  const yaml = `
kafka: { topicPrefix: ${ns}, partitions: 3 }
redis: { keyPrefix: "${ns}:" }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq }
log: { level: silent }
${rulesYaml(ns, productsTable(ns))}`;
  return parseConfig(yaml, `/tmp/${ns}.yaml`, env as unknown as NodeJS.ProcessEnv);
}

export async function startInvalidator(config: EvictdConfig): Promise<{ role: Role; metrics: () => Promise<string> }> {
  const registry = createRegistry();
  const role = await start({ config, logger: createLogger('invalidate-test', process.env.EVICTD_TEST_LOG ?? 'silent'), registry, signal: new AbortController().signal });
  return { role, metrics: () => registry.metrics() };
}

export function testKafka(env: StackEnv): Kafka {
  return new Kafka({ clientId: 'invalidate-test', brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
}

export function changeEvent(op: Op, table: string, before: RowImage | null, after: RowImage | null, tsMs = Date.now()): ChangeEvent {
  const [schema = '', name = ''] = table.split('.');
  return {
    before,
    after,
    op,
    source: { connector: 'evictd', name: 'test', db: 'app', schema, table: name, txId: 1, lsn: 1, ts_ms: tsMs, snapshot: 'false' },
    ts_ms: tsMs,
  };
}

/** Sends values (objects are JSON-encoded, strings/Buffers go as they are) to one partition, in order. */
export async function produce(producer: Producer, topic: string, messages: Array<{ key: unknown; value: unknown }>, partition = 0): Promise<void> {
  const encode = (v: unknown) => (v === null ? null : typeof v === 'string' || Buffer.isBuffer(v) ? v : JSON.stringify(v));
  await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ partition, key: encode(m.key), value: encode(m.value) })) });
}

/** Cache entries as the app would leave them: plain keys, and tag sets the way the cache client fills them. */
export function cacheFixture(redis: Redis, layout: RedisLayout) {
  const setAll = async (names: readonly string[]) => {
    await redis.mset(...names.flatMap((n) => [n, 'cached']));
  };
  return {
    setAll,
    /** Filled through the fenced-fill protocol (lease, fill), in parallel slices. */
    async filled(cache: Cache, names: readonly string[], tags: string[] = []): Promise<void> {
      for (let i = 0; i < names.length; i += 200) {
        await Promise.all(names.slice(i, i + 200).map((n) => cache.getOrLoad(n, async () => 'cached', { tags })));
      }
    },
    async tagged(tag: string, members: string[]): Promise<void> {
      await setAll(members);
      await redis.sadd(layout.tagSetKey(tag), ...members);
    },
    async gone(names: readonly string[], timeoutMs = 30_000): Promise<void> {
      await waitFor(async () => (await redis.exists(...names)) === 0, { timeoutMs, what: `keys ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''} deleted` });
    },
  };
}

/** How many of the names exist (checked in slices, for large sets). */
export async function countExisting(redis: Redis, names: readonly string[]): Promise<number> {
  let count = 0;
  for (let i = 0; i < names.length; i += 1000) count += await redis.exists(...names.slice(i, i + 1000));
  return count;
}

/** Change events on the topic so far: the sum of its partitions' end offsets. */
export async function publishedCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.offset), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until `count` more events than `since` are on the topic and the group committed the topic to its end. */
export async function waitApplied(kafka: Kafka, groupId: string, topic: string, since: number, count: number, commitTimeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await publishedCount(kafka, topic)) >= since + count, { timeoutMs: 30_000, what: `${count} change events on Kafka` });
  await waitCommittedToEnd(kafka, groupId, topic, commitTimeoutMs);
}

/** Waits until the group committed every partition of the topic up to its current end (empty partitions count as done). */
export async function waitCommittedToEnd(kafka: Kafka, groupId: string, topic: string, timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    await waitFor(async () => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return ends.every((e) => e.offset === '0' || committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.offset);
    }, { timeoutMs, what: `group ${groupId} to commit ${topic} to its end` });
  } finally {
    await admin.disconnect();
  }
}

/** The YAML of an `evictd run` config for one products table (slot, publication, prefixes: all `ns`). */
export function runYaml(ns: string, table: string): string {
  return `
postgres: { slot: ${ns}, publication: ${ns} }
kafka: { topicPrefix: ${ns}, partitions: 3 }
redis: { keyPrefix: "${ns}:" }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq }
publish: { lingerMs: 2 }
http: { port: 0 }
log: { level: info }
${rulesYaml(ns, table)}`;
}

export interface EvictdProcess extends CapturedProcess {
  /** Base URL of its /metrics and /healthz. */
  http: string;
}

/** `evictd run` as a child process; resolves once it streams from Postgres and consumes from Kafka. */
export async function spawnEvictdRun(env: StackEnv, yaml: string): Promise<EvictdProcess> {
  const proc = await spawnEvictd('run', { ...env }, yaml, (output) => {
    const running = /"http":"([^"]+)"[^\n]*"msg":"evictd running"/.exec(output);
    return output.includes('replication session started') && output.includes('"msg":"consuming"') && running?.[1];
  }, { timeoutMs: 90_000, what: 'evictd run to stream and consume' });
  return { ...proc, http: proc.ready };
}

/** `evictd invalidate` with this config; resolves with its /metrics and /healthz base URL once it consumes. */
export function spawnInvalidatorProcess(env: StackEnv, yaml: string) {
  return spawnEvictd('invalidate', { ...env }, yaml, (output) => output.includes('"msg":"consuming"') && /"http":"([^"]+)"[^\n]*"msg":"evictd running"/.exec(output)?.[1], {
    timeoutMs: 90_000,
    what: 'evictd invalidate to consume',
  });
}

/** A read whose load is held open until release(): it took its lease and read the row "before" the commit. */
export function heldRead(cache: Cache, key: string, value: string, tags: string[] = []) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let loading!: () => void;
  const started = new Promise<void>((resolve) => (loading = resolve));
  const result = cache.getOrLoad(
    key,
    async () => {
      loading();
      await gate;
      return value;
    },
    { tags },
  );
  return { started, land: async () => (release(), result) };
}
