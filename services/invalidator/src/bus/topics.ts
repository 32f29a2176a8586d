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
