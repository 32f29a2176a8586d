// Shared by the invalidate-*.test.ts files: a config per test file, the role started in-process,
// and change events written to Kafka in evictd's envelope.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { ChangeEvent, Op, RowImage } from '@evictd/schemas';
import { parseConfig, type EvictdConfig } from '../../services/invalidator/src/config/index.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { createRegistry } from '../../services/invalidator/src/observability/metrics.js';
import { start } from '../../services/invalidator/src/roles/invalidate.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import type { StackEnv } from '../support/index.js';

/** App keys of a test file live under `ns:`; evictd's own keys under `ns:` as keyPrefix too. */
export function invalidatorConfig(env: StackEnv, ns: string, extra = ''): EvictdConfig {
  const yaml = `
kafka: { topicPrefix: ${ns}, partitions: 3 }
redis: { keyPrefix: "${ns}:" }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq }
log: { level: silent }
tables:
  public.products:
    keys: ["${ns}:product:{id}", "${ns}:product:{id}:detail"]
    tags: ["${ns}:category:{category_id}"]
    columns: [name, price, category_id]
${extra}`;
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
