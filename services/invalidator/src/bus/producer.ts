/**
 * Kafka side of the publisher: creates topics with the configured partition count, and sends
 * events in batches through an idempotent producer with acks from all in-sync replicas.
 *
 * One batch is on the wire at a time, so events of a partition reach Kafka in the order they were
 * handed in (per-row order) even across retries. kafkajs 2.2.4 cannot do better with an idempotent
 * producer: it holds a per-broker lock for each produce request (so a second sendBatch only queues
 * behind the first on a single broker), and a failed request gives its sequence numbers back
 * (producer/sendMessages.js), so a later batch could take them and land before the retry of an
 * earlier one (see test/integration/publish-idempotent.test.ts). While a batch is in flight the
 * next one fills up; it goes as soon as the ack comes (its events already waited a round trip),
 * or at once when full. With nothing in flight a partial batch waits lingerMs after its first
 * event, for more to join it. Bytes handed in but not
 * yet acknowledged are counted; above maxInFlightBytes the producer reports `overloaded` so the
 * caller stops reading, and calls `onDrain` once it is back under half of that.
 */
import { Partitioners, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { ensureTopics } from './topics.js';

export interface ProducerOptions {
  maxBatchEvents: number;
  maxBatchBytes: number;
  lingerMs: number;
  maxInFlightBytes: number;
  partitions: number;
  replicationFactor: number;
}

export interface OutgoingMessage {
  topic: string;
  /** JSON text; the publisher's hot path hands UTF-8 bytes (kafkajs then neither measures nor converts them again, and an in-flight event is one flat buffer). */
  key: string | Buffer | null;
  value: string | Buffer;
  /** Set for keyless events, which all go to one partition to keep their relative order. */
  partition?: number;
}

export interface ProducerEvents<T> {
  /** Kafka acknowledged these messages (their tags, in the order they were sent). */
  onDelivered(tags: T[]): void;
  /** A batch could not be delivered; nothing after it is sent. The caller restarts from its last acknowledged position. */
  onFailed(err: unknown): void;
  /** In-flight bytes fell back under the low watermark after `overloaded`. */
  onDrain(): void;
  onBatch?(events: number, bytes: number): void;
}

interface Pending<T> {
  message: OutgoingMessage;
  bytes: number;
  tag: T;
}

export class EventProducer<T> {
  private producer: Producer;
  private readonly admin: Admin;
  private buffer: Pending<T>[] = [];
  private bufferBytes = 0;
  private inFlightBytes = 0;
  private sending: Promise<void> | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private failed: unknown = null;
  private wasOverloaded = false;
  private readonly knownTopics = new Set<string>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ProducerOptions,
    private readonly events: ProducerEvents<T>,
    private readonly logger: Logger,
  ) {
    this.producer = this.createProducer();
    this.admin = kafka.admin();
  }

  private createProducer(): Producer {
    // The Java client's murmur2 partitioner: a key lands on the same partition as from Debezium/Kafka Connect.
    return this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  }

  async connect(): Promise<void> {
    await this.admin.connect();
    await this.producer.connect();
  }

  async disconnect(): Promise<void> {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /** Creates missing topics with the configured partitions (existing ones are left as they are). */
  async ensureTopics(topics: readonly string[], settings: { partitions?: number; configEntries?: { name: string; value: string }[] } = {}): Promise<void> {
    const missing = [...new Set(topics)].filter((t) => !this.knownTopics.has(t));
    if (missing.length === 0) return;
    const partitions = settings.partitions ?? this.options.partitions;
    const created = await ensureTopics(this.admin, missing, { partitions, replicationFactor: this.options.replicationFactor, configEntries: settings.configEntries });
    if (created.length > 0) this.logger.info({ topics: created, partitions }, 'created topics');
    for (const t of missing) this.knownTopics.add(t);
  }

  /**
   * Forgets a failed batch so a new session can start (it resends from the last acknowledged
   * position). After a failure the kafkajs producer is replaced: a new producer id, so a broker
   * that lost our sequence numbers (crash, unflushed log) does not refuse every retry.
   */
  async reset(): Promise<void> {
    if (this.sending) throw new Error('producer reset while a batch is in flight');
    const failed = this.failed !== null;
    this.failed = null;
    this.buffer = [];
    this.bufferBytes = 0;
    this.inFlightBytes = 0;
    this.wasOverloaded = false;
    if (!failed) return;
    const old = this.producer;
    this.producer = this.createProducer();
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
  }

  /** Stop reading the source while this is true. */
  get overloaded(): boolean {
    return this.inFlightBytes > this.options.maxInFlightBytes;
  }

  get bytesInFlight(): number {
    return this.inFlightBytes;
  }

  send(message: OutgoingMessage, tag: T): void {
    if (this.failed) return; // the session is being torn down; the source will resend
    // Bytes for buffers, characters for strings (close enough for a budget).
    const bytes = message.value.length + (message.key?.length ?? 0) + message.topic.length;
    this.buffer.push({ message, bytes, tag });
    this.bufferBytes += bytes;
    this.inFlightBytes += bytes;
    if (this.overloaded) this.wasOverloaded = true;
    if (this.buffer.length >= this.options.maxBatchEvents || this.bufferBytes >= this.options.maxBatchBytes) this.kick();
    else if (!this.sending) this.lingerTimer ??= setTimeout(() => this.kick(), this.options.lingerMs);
  }

  /** Sends one message on its own, outside the batches (evictd's state records); resolves when Kafka acknowledged it. */
  async sendNow(message: OutgoingMessage): Promise<void> {
    await this.producer.send({ acks: -1, topic: message.topic, messages: [{ key: message.key, value: message.value, partition: message.partition }] });
  }

  /** Resolves when everything handed in so far is acknowledged by Kafka; rejects if a batch failed. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.failed) throw this.failed;
      if (this.buffer.length === 0 && !this.sending) return;
      this.kick();
      await this.sending?.catch(() => undefined);
    }
  }

  private kick(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (this.sending || this.failed || this.buffer.length === 0) return;
    const batch = this.takeBatch();
    this.sending = this.sendBatch(batch).finally(() => {
      this.sending = null;
      // What gathered during the round trip goes now: waiting out a linger on top adds latency
      // without making batches under load any bigger.
      if (this.buffer.length > 0) this.kick();
    });
  }

  private takeBatch(): Pending<T>[] {
    let n = 0;
    let bytes = 0;
    while (n < this.buffer.length && n < this.options.maxBatchEvents && (n === 0 || bytes + this.buffer[n]!.bytes <= this.options.maxBatchBytes)) {
      bytes += this.buffer[n]!.bytes;
      n += 1;
    }
    const batch = this.buffer.slice(0, n);
    this.buffer = this.buffer.slice(n);
    this.bufferBytes -= bytes;
    return batch;
  }

  private async sendBatch(batch: Pending<T>[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    let bytes = 0;
    for (const { message, bytes: b } of batch) {
      bytes += b;
      let list = byTopic.get(message.topic);
      if (!list) byTopic.set(message.topic, (list = []));
      // An OutgoingMessage is a kafkajs Message (key, value, partition); its topic field is ignored.
      list.push(message);
    }
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (err) {
      this.failed = err;
      this.buffer = [];
      this.bufferBytes = 0;
      this.events.onFailed(err);
      return;
    }
    this.inFlightBytes -= bytes;
    this.events.onBatch?.(batch.length, bytes);
    this.events.onDelivered(batch.map((p) => p.tag));
    if (this.wasOverloaded && this.inFlightBytes <= this.options.maxInFlightBytes / 2) {
      this.wasOverloaded = false;
      this.events.onDrain();
    }
  }
}
