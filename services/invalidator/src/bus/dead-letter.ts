/**
 * The dead-letter topic: a message the invalidator cannot understand is copied there, untouched,
 * with why and where it came from, so consumption can go on without losing it.
 */
import type { Message, Producer } from 'kafkajs';

export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly reason: string;
}

export const DEAD_LETTER_HEADERS = {
  reason: 'reason',
  topic: 'original-topic',
  partition: 'original-partition',
  offset: 'original-offset',
} as const;

/** The dead-letter message: original key and value, provenance and reason in headers. Pure. */
export function deadLetterMessage(entry: DeadLetter): Message {
  return {
    key: entry.key,
    value: entry.value,
    headers: {
      [DEAD_LETTER_HEADERS.reason]: entry.reason,
      [DEAD_LETTER_HEADERS.topic]: entry.topic,
      [DEAD_LETTER_HEADERS.partition]: String(entry.partition),
      [DEAD_LETTER_HEADERS.offset]: entry.offset,
    },
  };
}

/** Sends the entries and resolves once Kafka acknowledged them (so their offsets may be committed). */
export async function sendDeadLetters(producer: Producer, deadLetterTopic: string, entries: readonly DeadLetter[]): Promise<void> {
  if (entries.length === 0) return;
  await producer.send({ topic: deadLetterTopic, acks: -1, messages: entries.map(deadLetterMessage) });
}
