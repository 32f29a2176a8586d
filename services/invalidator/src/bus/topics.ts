import type { Admin } from 'kafkajs';

/**
 * Kafka topic names, shared by the publisher and the invalidator: one topic per table,
 * `<prefix>.<schema>.<table>`, and one compacted topic for evictd's own state.
 */
export function changeTopic(prefix: string, schema: string, table: string): string {
  return `${prefix}.${schema}.${table}`;
}

/** Compacted topic holding the lost-slot markers ("published from slot X up to LSN Y"), keyed by database/slot. */
export function stateTopic(prefix: string): string {
  return `${prefix}.__evictd_state`;
}

// Kafka's legal topic characters; Postgres identifiers may hold others (quoted names).
const LEGAL = /^[A-Za-z0-9._-]{1,249}$/;

/** Throws with the offending table when a schema/table name cannot be part of a Kafka topic name. */
export function assertTopicName(topic: string, what: string): void {
  if (!LEGAL.test(topic) || topic === '.' || topic === '..') {
    throw new Error(`${what}: topic name "${topic}" is not a legal Kafka topic name (only letters, digits, ".", "_", "-"; at most 249 characters): rename the table or change kafka.topicPrefix`);
  }
}

export interface TopicSettings {
  partitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/**
 * Creates the topics that do not exist yet, with evictd's partition count (Kafka's auto-creation
 * would make them with the broker default). Returns the ones it created. Both roles call it: the
 * invalidator may start before the publisher.
 */
export async function ensureTopics(admin: Admin, topics: readonly string[], settings: TopicSettings): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const create = [...new Set(topics)].filter((t) => !existing.has(t));
  if (create.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: create.map((topic) => ({ topic, numPartitions: settings.partitions, replicationFactor: settings.replicationFactor, configEntries: settings.configEntries ?? [] })),
    });
  }
  return create;
}
