// Shared by the publish-*.test.ts files: a config per test file, the publisher in-process or as a
// child process (for kill -9), a background reader of the change topics, and slot clean-up.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import pg from 'pg';
import { parseConfig, type EvictdConfig } from '../../services/invalidator/src/config/index.js';
import { parseLsn } from '../../services/invalidator/src/cdc/lsn.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { createRegistry } from '../../services/invalidator/src/observability/metrics.js';
import { start } from '../../services/invalidator/src/roles/publish.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import type { StackEnv } from '../support/index.js';
import { spawnEvictd, type CapturedProcess } from '../support/process.js';


export interface YamlOptions {
  /** The publish section's contents. */
  publish?: string;
  logLevel?: string;
}

/** The YAML of a publisher config: slot, publication and topic prefix are all `ns`; `tables` is the rules block. */
export function publishYaml(ns: string, tables: string, options: YamlOptions = {}): string {
  return `
postgres: { slot: ${ns}, publication: ${ns} }
kafka: { topicPrefix: ${ns}, partitions: 3 }
publish: { ${options.publish ?? 'lingerMs: 2, maxInFlightBytes: 4194304'} }
http: { port: 0 }
log: { level: ${options.logLevel ?? process.env.EVICTD_TEST_LOG ?? 'warn'} }
tables:
${tables}
`;
}

export function publishConfig(env: StackEnv, ns: string, tables: string, options: YamlOptions = {}): EvictdConfig {
  return parseConfig(publishYaml(ns, tables, options), `/tmp/${ns}.yaml`, env as unknown as NodeJS.ProcessEnv);
}

export async function startPublisher(config: EvictdConfig): Promise<{ role: Role; metrics: () => Promise<string> }> {
  const registry = createRegistry();
  const role = await start({ config, logger: createLogger('publish-test', config.log.level), registry, signal: new AbortController().signal });
  return { role, metrics: () => registry.metrics() };
}

export type PublisherProcess = CapturedProcess;

/** `evictd publish` as a child process, with the stack's env; resolves once its session streams. */
export async function spawnPublisher(env: StackEnv, yaml: string): Promise<PublisherProcess> {
  return spawnEvictd('publish', { ...env }, yaml, (output) => output.includes('replication session started'), {
    timeoutMs: 60_000,
    what: 'the publisher to stream',
  });
}

export function testKafka(env: StackEnv): Kafka {
  return new Kafka({ clientId: 'publish-test', brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
}

export interface Received {
  topic: string;
  partition: number;
  key: unknown;
  value: Record<string, unknown> | null;
}

/** Reads the topics from the beginning in the background; `messages` grows as they arrive. */
export async function readTopics(kafka: Kafka, topics: string[], ns: string): Promise<{ messages: Received[]; stop: () => Promise<void> }> {
  const consumer: Consumer = kafka.consumer({ groupId: `${ns}_reader_${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 100 });
  const messages: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
  } catch (err) {
    await consumer.disconnect();
    throw err;
  }
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        messages.push({
          topic: batch.topic,
          partition: batch.partition,
          key: m.key ? JSON.parse(m.key.toString()) : null,
          value: m.value ? (JSON.parse(m.value.toString()) as Record<string, unknown>) : null,
        });
      }
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

export { dropSlot } from '../support/index.js';

export async function confirmedFlush(db: pg.Client, slot: string): Promise<bigint> {
  const { rows } = await db.query('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  return parseLsn(String(rows[0]?.lsn ?? '0/0'));
}
