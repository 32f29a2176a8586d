/**
 * One replication session's data path: pgoutput message -> change events -> producer, with the
 * checkpoint told about every Begin, event, Commit, Kafka confirmation and keepalive. Reading stops
 * (socket paused) while the producer holds more than its in-flight byte budget.
 */
import type { OutgoingMessage } from '../bus/producer.js';
import { changeTopic } from '../bus/topics.js';
import type { Checkpoint, TxnTicket } from './checkpoint.js';
import { withConnectSchemas } from './connect-schema.js';
import type { DecodedEvent, PgoutputMessage, TransactionDecoder } from './decode.js';
import { encodeRowChange } from './encode.js';
import { parseLsn, type Lsn } from './lsn.js';
import type { ReplicationHandler } from './stream.js';

/** What rides along with each event through the producer. */
export interface EventTag {
  ticket: TxnTicket;
  commitTimeMs: number;
}

export interface EventSink {
  send(message: OutgoingMessage, tag: EventTag): void;
  readonly overloaded: boolean;
}

export interface FlowControl {
  pause(): void;
}

export interface PipelineOptions {
  topicPrefix: string;
  /** `publish.schemas`: Kafka Connect's {schema, payload} form. */
  connectSchemas: boolean;
  /** `schema.table` of the published tables; changes of other tables in the publication are skipped. */
  tables: ReadonlySet<string>;
  onSkipped?(table: string): void;
  /** Acknowledge now (a keepalive asked for a reply). */
  reply(): void;
}

/**
 * Kafka message of an event: JSON key (null for table-wide events, which all go to partition 0 to
 * stay ordered); with `connectSchemas`, key and value in Kafka Connect's {schema, payload} form.
 */
export function toMessage(topicPrefix: string, event: DecodedEvent, connectSchemas = false): OutgoingMessage & { key: string | null; value: string } {
  const topic = changeTopic(topicPrefix, event.schema, event.table);
  const { key, value } = connectSchemas
    ? withConnectSchemas(topic, event.relation, event.key, event.value)
    : { key: event.key ? JSON.stringify(event.key) : null, value: JSON.stringify(event.value) };
  return key !== null ? { topic, key, value } : { topic, key: null, value, partition: 0 };
}

export class Pipeline implements ReplicationHandler {
  private txn: EventTag | null = null;
  private paused = false;

  constructor(
    private readonly decoder: TransactionDecoder,
    private readonly checkpoint: Checkpoint,
    private readonly sink: EventSink,
    private readonly flow: FlowControl,
    private readonly options: PipelineOptions,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  /** The producer drained: read again. Returns whether the stream was paused. */
  drained(): boolean {
    const was = this.paused;
    this.paused = false;
    return was;
  }

  onMessage(lsn: string, message: PgoutputMessage): void {
    if (!this.options.connectSchemas && (message.tag === 'insert' || message.tag === 'update' || message.tag === 'delete')) {
      // The hot path: straight to JSON (encode.ts), the same bytes as toMessage of the decoded event.
      const event = encodeRowChange(message, this.decoder.rowChange(lsn, message));
      if (!this.options.tables.has(event.table)) {
        this.options.onSkipped?.(event.table);
        return;
      }
      const txn = this.txn!;
      this.checkpoint.enqueued(txn.ticket);
      // As bytes now: the JSON built in pieces becomes one flat buffer while it waits for Kafka,
      // and kafkajs (murmur2, record encoding) uses it as is instead of converting the string twice.
      const value = Buffer.from(event.value);
      this.sink.send(event.key !== null ? { topic: event.topic, key: Buffer.from(event.key), value } : { topic: event.topic, key: null, value, partition: 0 }, txn);
      if (this.sink.overloaded && !this.paused) {
        this.paused = true;
        this.flow.pause();
      }
      return;
    }
    const decoded = this.decoder.decode(lsn, message);
    switch (decoded.kind) {
      case 'begin':
        this.txn = { ticket: this.checkpoint.begin(), commitTimeMs: decoded.commitTimeMs };
        break;
      case 'events': {
        const txn = this.txn!;
        for (const event of decoded.events) {
          if (!this.options.tables.has(`${event.schema}.${event.table}`)) {
            this.options.onSkipped?.(`${event.schema}.${event.table}`);
            continue;
          }
          this.checkpoint.enqueued(txn.ticket);
          this.sink.send(toMessage(this.options.topicPrefix, event, this.options.connectSchemas), txn);
        }
        if (this.sink.overloaded && !this.paused) {
          this.paused = true;
          this.flow.pause();
        }
        break;
      }
      case 'commit':
        this.checkpoint.commit(decoded.commitEndLsn);
        this.txn = null;
        break;
      case 'ignored':
        this.checkpoint.observe(parseLsn(lsn));
        break;
    }
  }

  onKeepalive(walEnd: Lsn, replyRequested: boolean): void {
    this.checkpoint.keepalive(walEnd);
    if (replyRequested) this.options.reply();
  }
}

/** Tells the checkpoint about Kafka confirmations, one call per run of events of the same transaction. */
export function confirmDelivered(checkpoint: Checkpoint, tags: readonly EventTag[], onTransactionRun?: (tag: EventTag, events: number) => void): void {
  let i = 0;
  while (i < tags.length) {
    const tag = tags[i]!;
    let j = i + 1;
    while (j < tags.length && tags[j]!.ticket === tag.ticket) j += 1;
    checkpoint.delivered(tag.ticket, j - i);
    onTransactionRun?.(tag, j - i);
    i = j;
  }
}
