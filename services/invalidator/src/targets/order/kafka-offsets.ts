/**
 * Committed offsets of other consumer groups through one kafkajs admin, connected on the first
 * fetch and again after a failure. The gate polls it every few tens of milliseconds while a chunk
 * waits, so kafkajs' own retries are off: a failed fetch returns at once and the gate's backoff
 * decides when to ask again.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { CommittedOffset, CommittedOffsets } from './gate.js';

export function kafkaCommittedOffsets(kafka: Kafka): CommittedOffsets {
  let admin: Admin | undefined;
  let connected: Promise<void> | undefined;
  let closed = false;
  const drop = async () => {
    const old = admin;
    const connecting = connected;
    admin = undefined;
    connected = undefined;
    // A disconnect while connect() is under way would leave the sockets it then opens (and the
    // process alive after its stop): let the connect finish first.
    await connecting?.catch(() => undefined);
    await old?.disconnect().catch(() => undefined);
  };
  return {
    async fetch(groupId, topics) {
      if (closed) throw new Error('committed offsets: closed');
      const client = (admin ??= kafka.admin({ retry: { retries: 0 } }));
      try {
        await (connected ??= client.connect());
        if (closed) throw new Error('committed offsets: closed');
        // One FindCoordinator and one OffsetFetch for every partition of these topics (metadata is cached).
        const answer = await client.fetchOffsets({ groupId, topics: [...topics] });
        const out: CommittedOffset[] = [];
        for (const { topic, partitions } of answer) {
          for (const { partition, offset } of partitions) {
            // -1: the group never committed this partition (it starts from the beginning).
            if (offset !== '-1') out.push({ topic, partition, offset: BigInt(offset) });
          }
        }
        return out;
      } catch (err) {
        await drop();
        throw err;
      }
    },
    close: async () => {
      closed = true;
      await drop();
    },
  };
}

/**
 * A fetch failure that waiting cannot mend: Kafka refuses this principal the upstream's group (or
 * the topics). Anything else (a broker restarting, a coordinator moving) passes.
 */
export function isLastingOffsetError(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string' && /AUTHORIZATION_FAILED$/.test(e.type)) return true;
  }
  return false;
}
