/**
 * evictd's own records in Kafka: a compacted, single-partition topic keyed by name (the lost-slot
 * marker lives here). Reading replays the topic up to its current end and keeps the latest value
 * of the key; writing goes through the producer with acks from all replicas.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { EventProducer } from './producer.js';

export const STATE_TOPIC_CONFIG = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'min.compaction.lag.ms', value: '0' },
];

export async function ensureStateTopic(producer: EventProducer<unknown>, topic: string): Promise<void> {
  await producer.ensureTopics([topic], { partitions: 1, configEntries: STATE_TOPIC_CONFIG });
}

/** The latest value written under `key`, or null. Gives up after `timeoutMs` (the topic must be readable). */
export async function readState(kafka: Kafka, topic: string, key: string, timeoutMs = 60_000): Promise<string | null> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return null;
  // A throwaway group that never commits: reading must not leave a position behind.
  const consumer = kafka.consumer({ groupId: `evictd-state-reader-${randomUUID()}` });
  let latest: string | null = null;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic}: not at its end after ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (message.key?.toString() === key) latest = message.value ? message.value.toString() : null;
            const end = ends.get(partition);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) ends.delete(partition);
            if (ends.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return latest;
}
