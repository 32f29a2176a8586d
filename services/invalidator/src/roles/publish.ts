/**
 * `evictd publish`: PostgreSQL logical replication -> Kafka change events, at least once.
 *
 * Wiring only: start-up checks (cdc/startup), lost-slot detection (cdc/lost-slot, marker in
 * bus/state), one replication session at a time (cdc/stream + cdc/pipeline) feeding the batching
 * producer (bus/producer), and the checkpoint (cdc/checkpoint) as the single place that
 * acknowledges. Sessions that fail for retriable reasons (Postgres or Kafka away) are restarted with
 * backoff from the slot's confirmed position; whatever was in flight is published again.
 */
import type { ClientConfig } from 'pg';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CONNECTOR, FLUSH_REASON, OP, type ChangeEvent } from '@evictd/schemas';
import { postgresClientConfig, type EvictdConfig } from '../config/index.js';
import { EvictdError, describeError, fromPgError } from '../errors.js';
import { retry } from '../retry.js';
import { compileRules } from '../rules/index.js';
import { splitTableName } from '../rules/compile.js';
import { KAFKA_STARTUP_BACKOFF, createKafka, fromKafkaError } from '../bus/kafka.js';
import { EventProducer } from '../bus/producer.js';
import { ensureStateTopic, readState } from '../bus/state.js';
import { assertTopicName, changeTopic, stateTopic } from '../bus/topics.js';
import { Checkpoint } from '../cdc/checkpoint.js';
import { TransactionDecoder } from '../cdc/decode.js';
import { decodeMarker, detectLostSlot, encodeMarker, markerKey } from '../cdc/lost-slot.js';
import { formatLsn, lsnDistance, type Lsn } from '../cdc/lsn.js';
import { Pipeline, confirmDelivered, toMessage, type EventTag } from '../cdc/pipeline.js';
import { prepare, verify, type Prepared, type PublicationSettings } from '../cdc/startup.js';
import { startReplication, withClient, type ReplicationSession } from '../cdc/stream.js';
import type { Role, RoleContext } from './role.js';

/** How often the marker is advanced and the position acknowledged (also our status heartbeat to the server). */
const TICK_MS = 1_000;
const STOP_FLUSH_TIMEOUT_MS = 30_000;

function publishMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({ name: 'evictd_publish_events_total', help: 'Change events acknowledged by Kafka', registers }),
    batchEvents: new Histogram({ name: 'evictd_publish_batch_events', help: 'Events per Kafka batch', buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000, 10000], registers }),
    commitLag: new Histogram({ name: 'evictd_publish_commit_to_kafka_seconds', help: 'Postgres commit time to Kafka acknowledgement', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    acknowledgedLsn: new Gauge({ name: 'evictd_publish_acknowledged_lsn', help: 'Last LSN acknowledged to Postgres (confirmed_flush_lsn)', registers }),
    lagBytes: new Gauge({ name: 'evictd_publish_replication_lag_bytes', help: 'WAL bytes between the server position last reported and the acknowledged LSN', registers }),
    inFlightBytes: new Gauge({ name: 'evictd_publish_in_flight_bytes', help: 'Event bytes handed to the producer and not yet acknowledged by Kafka', registers }),
    paused: new Gauge({ name: 'evictd_publish_stream_paused', help: '1 while reading is paused for backpressure', registers }),
    pauses: new Counter({ name: 'evictd_publish_stream_pauses_total', help: 'Times reading was paused because maxInFlightBytes awaited Kafka', registers }),
    sessions: new Counter({ name: 'evictd_publish_sessions_total', help: 'Replication sessions started (restarts after failures count)', registers }),
    lostSlots: new Counter({ name: 'evictd_publish_lost_slot_total', help: 'Times the slot was found lost (and tables flushed unless lostSlot: ignore)', registers }),
  };
}

/** Resolves after ms without keeping the process alive (a bound on waits during stop). */
function deadline(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves when the signal aborts (never rejects): ends waits that have no deadline of their own. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** What the publisher sets up: the checked rules and publication settings, and its change topics (named legally). */
function publisherSetup(config: EvictdConfig): { settings: PublicationSettings; topics: string[] } {
  const rules = compileRules(config.tables, config.file);
  const { postgres } = config;
  const topics = postgres.tables.map((t) => {
    const { schema, name } = splitTableName(t)!;
    const topic = changeTopic(config.kafka.topicPrefix, schema, name);
    assertTopicName(topic, `table ${t}`);
    return topic;
  });
  return { settings: { slot: postgres.slot, publication: postgres.publication, createPublication: postgres.createPublication, tables: postgres.tables, rules }, topics };
}

/**
 * For `evictd check-config`: throws what the publisher's start-up would refuse (same errors),
 * without creating the publication or the slot. Retriable trouble (Postgres away) is thrown too.
 */
export async function checkPublisherSetup(config: EvictdConfig): Promise<void> {
  const { settings } = publisherSetup(config);
  await withClient(postgresClientConfig(config.postgres), (client) => verify(client, settings)).catch((err: unknown) => {
    throw fromPgError(err, 'preparing logical replication');
  });
}

class Publisher {
  private readonly config: EvictdConfig;
  private readonly log: RoleContext['logger'];
  private readonly metrics: ReturnType<typeof publishMetrics>;
  private readonly producer: EventProducer<EventTag>;
  private readonly kafka: ReturnType<typeof createKafka>;
  private readonly connection: ClientConfig;
  private readonly tables: string[];
  private readonly abort = new AbortController();
  private prepared: Prepared | null = null;
  private checkpoint: Checkpoint | null = null;
  private decoder: TransactionDecoder | null = null;
  private session: ReplicationSession | null = null;
  private pipeline: Pipeline | null = null;
  private failSession: ((err: unknown) => void) | null = null;
  private markerLsn: Lsn = 0n;
  private markerWrite: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private lastError: string | null = null;
  done: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: RoleContext) {
    this.config = ctx.config;
    this.log = ctx.logger;
    this.metrics = publishMetrics(ctx.registry);
    this.connection = postgresClientConfig(this.config.postgres);
    this.tables = [...this.config.postgres.tables];
    ctx.signal.addEventListener('abort', () => this.abort.abort(), { once: true });
    this.kafka = createKafka(this.config.kafka, this.log);
    const { publish, kafka } = this.config;
    this.producer = new EventProducer<EventTag>(
      this.kafka,
      { ...publish, partitions: kafka.partitions, replicationFactor: kafka.replicationFactor },
      {
        onDelivered: (tags) => this.delivered(tags),
        onFailed: (err) => this.failSession?.(fromKafkaError(err, 'sending change events to Kafka')),
        onDrain: () => {
          if (this.pipeline?.drained()) this.session?.resume();
        },
        onBatch: (events) => this.metrics.batchEvents.observe(events),
      },
      this.log,
    );
  }

  private get prefix(): string {
    return this.config.kafka.topicPrefix;
  }

  /** Checks, publication, slot, topics, lost-slot handling. Retriable failures are retried until stopped. */
  async prepare(): Promise<void> {
    const { settings, topics } = publisherSetup(this.config);
    const onRetry = (err: unknown, attempt: number, delayMs: number) => {
      this.ctx.startup?.retrying(err, attempt);
      this.log.warn({ err: describeError(err), attempt, delayMs }, 'start-up: retrying');
    };
    const options = { signal: this.abort.signal, ...KAFKA_STARTUP_BACKOFF, onRetry };
    const { postgres } = this.config;
    const prepared = await retry(
      () =>
        withClient(this.connection, (client) => prepare(client, settings)).catch((err: unknown) => {
          throw fromPgError(err, 'preparing logical replication');
        }),
      options,
    );
    this.prepared = prepared;
    const state = stateTopic(this.prefix);
    const key = markerKey(prepared.database, postgres.slot);
    const stored = await retry(async () => {
      try {
        await this.producer.connect();
        await this.producer.ensureTopics(topics);
        await ensureStateTopic(this.producer as EventProducer<unknown>, state);
        return await readState(this.kafka, state, key);
      } catch (err) {
        throw fromKafkaError(err, 'preparing Kafka topics');
      }
    }, options);
    const marker = stored === null ? null : decodeMarker(stored);
    const verdict = detectLostSlot(prepared.slot, marker);
    if (verdict.lost) await retry(() => this.lostSlot(verdict.why, verdict.lastLsn).catch((err: unknown) => Promise.reject(fromKafkaError(err, 'publishing lost-slot flush events'))), options);
    const start = prepared.slot.confirmedFlush;
    await retry(() => this.writeMarker(start).catch((err: unknown) => Promise.reject(fromKafkaError(err, 'writing the slot marker'))), options);
    this.checkpoint = new Checkpoint(start, (lsn) => {
      if (!this.session) throw new Error('no replication session to acknowledge on');
      this.session.sendStatus(lsn);
    });
    this.checkpoint.allow(start);
    this.decoder = new TransactionDecoder({
      name: this.prefix,
      db: prepared.database,
      primaryKeys: new Map(this.tables.map((t) => [t, prepared.catalog.get(t)?.primaryKey ?? []])),
      now: Date.now,
    });
    this.log.info({ slot: postgres.slot, publication: postgres.publication, tables: this.tables, resumeAt: formatLsn(start), slotCreated: prepared.slot.created }, 'publisher ready');
  }

  private async lostSlot(why: string, lastLsn: string): Promise<void> {
    const { slot } = this.config.postgres;
    this.metrics.lostSlots.inc();
    if (this.config.publish.lostSlot === 'ignore') {
      this.log.error({ slot, lastLsn, tables: this.tables }, `LOST REPLICATION SLOT: ${why}. publish.lostSlot is "ignore": caches derived from these tables may hold stale entries until they expire`);
      return;
    }
    this.log.error({ slot, lastLsn, tables: this.tables }, `LOST REPLICATION SLOT: ${why}. Publishing a flush event for every published table so invalidators drop everything derived from them`);
    const now = Date.now();
    for (const table of this.tables) {
      const { schema, name } = splitTableName(table)!;
      const value: ChangeEvent = {
        before: null,
        after: null,
        op: OP.TRUNCATE,
        source: { connector: CONNECTOR, name: this.prefix, db: this.prepared!.database, schema, table: name, txId: null, lsn: null, ts_ms: now, snapshot: 'false' },
        ts_ms: now,
        flush: { reason: FLUSH_REASON.LOST_SLOT, slot, lastLsn },
      };
      await this.producer.sendNow(toMessage(this.prefix, { schema, table: name, key: null, value }, this.config.publish.schemas));
    }
  }

  private async writeMarker(lsn: Lsn): Promise<void> {
    const { slot } = this.config.postgres;
    const database = this.prepared!.database;
    await this.producer.sendNow({ topic: stateTopic(this.prefix), key: markerKey(database, slot), value: encodeMarker(database, slot, lsn, new Date()), partition: 0 });
    this.markerLsn = lsn;
  }

  run(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    const onRetry = (err: unknown, attempt: number, delayMs: number) => {
      this.lastError = describeError(err);
      this.log.warn({ err: this.lastError, attempt, delayMs }, 'replication session failed: reconnecting');
    };
    // At most 1 s between attempts: the attempt count never resets, so a 30 s cap made every
    // reconnect after a few outages wait up to 30 s after Kafka or Postgres answered again.
    this.done = retry(() => this.runSession(), { signal: this.abort.signal, minDelayMs: 100, maxDelayMs: 1_000, onRetry })
      .catch((err: unknown) => {
        if (!this.stopping) throw err;
      })
      .finally(() => {
        if (this.timer) clearInterval(this.timer);
      });
  }

  private async runSession(): Promise<void> {
    if (this.stopping) return;
    const checkpoint = this.checkpoint!;
    const decoder = this.decoder!;
    // The previous session's events go out first (per-row order), or its failed batch settles.
    // While Kafka is away this waits (kafkajs keeps retrying); a stop ends the wait.
    await Promise.race([this.producer.flush().catch(() => undefined), aborted(this.abort.signal)]);
    if (this.stopping) return;
    // connect() too: a reset whose reconnect failed (Kafka still down) left the producer
    // disconnected, and the next reset, with no failed batch left, did not connect it again.
    await this.producer
      .reset()
      .then(() => this.producer.connect())
      .catch((err: unknown) => Promise.reject(fromKafkaError(err, 'reconnecting the Kafka producer')));
    checkpoint.restart();
    decoder.reset();
    const failed = new Promise<never>((_, reject) => {
      this.failSession = reject;
    });
    const { postgres } = this.config;
    this.pipeline = new Pipeline(decoder, checkpoint, this.producer, { pause: () => this.pause() }, {
      topicPrefix: this.prefix,
      connectSchemas: this.config.publish.schemas,
      tables: new Set(this.tables),
      reply: () => this.acknowledge(),
    });
    let session: ReplicationSession;
    try {
      session = await startReplication({ connection: this.connection, slot: postgres.slot, publication: postgres.publication }, this.pipeline);
    } catch (err) {
      throw fromPgError(err, `starting replication from slot ${postgres.slot}`);
    }
    if (this.stopping) {
      // stop() ran while the session was starting: it found nothing to stop.
      await session.stop();
      return;
    }
    this.session = session;
    this.metrics.sessions.inc();
    this.lastError = null;
    this.log.info({ slot: postgres.slot, from: formatLsn(checkpoint.flushed) }, 'replication session started');
    try {
      await Promise.race([session.ended, failed]);
    } catch (err) {
      throw err instanceof EvictdError ? err : fromPgError(err, `streaming from slot ${postgres.slot}`);
    } finally {
      this.failSession = null;
      this.session = null;
      this.metrics.paused.set(0);
      await session.stop();
    }
    if (!this.stopping) throw new EvictdError('PG_UNAVAILABLE', 'the replication stream ended', { retriable: true });
  }

  private pause(): void {
    this.session?.pause();
    this.metrics.paused.set(1);
    this.metrics.pauses.inc();
  }

  private delivered(tags: EventTag[]): void {
    const checkpoint = this.checkpoint!;
    const now = Date.now();
    confirmDelivered(checkpoint, tags, (tag, events) => {
      for (let i = 0; i < events; i++) this.metrics.commitLag.observe((now - tag.commitTimeMs) / 1000);
    });
    this.metrics.events.inc(tags.length);
    if (!this.pipeline?.isPaused) this.metrics.paused.set(0);
  }

  /** Sends a status update with what may be acknowledged (a no-op without a session). */
  private acknowledge(): void {
    if (!this.session || !this.checkpoint) return;
    try {
      this.checkpoint.acknowledge();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not acknowledge');
    }
  }

  /** Advances the marker to what is published, then acknowledges up to it; refreshes gauges. */
  private async tick(): Promise<void> {
    const checkpoint = this.checkpoint;
    if (!checkpoint) return;
    if (!this.markerWrite && checkpoint.published > this.markerLsn) {
      const target = checkpoint.published;
      this.markerWrite = this.writeMarker(target)
        .then(() => checkpoint.allow(target))
        .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'could not write the slot marker; not acknowledging past it'))
        .finally(() => {
          this.markerWrite = null;
        });
      await this.markerWrite;
    }
    this.acknowledge();
    this.metrics.acknowledgedLsn.set(Number(checkpoint.flushed));
    this.metrics.lagBytes.set(Number(lsnDistance(checkpoint.flushed, checkpoint.received)));
    this.metrics.inFlightBytes.set(this.producer.bytesInFlight);
  }

  /** SIGTERM: stop reading, let Kafka confirm what was sent, acknowledge it, disconnect. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.session?.pause();
      try {
        await Promise.race([this.producer.flush(), deadline(STOP_FLUSH_TIMEOUT_MS).then(() => Promise.reject(new Error(`timed out after ${STOP_FLUSH_TIMEOUT_MS} ms`)))]);
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'stopping: not everything reached Kafka; it will be published again after restart');
      }
      await this.markerWrite;
      await this.tick();
      const acknowledged = this.checkpoint ? formatLsn(this.checkpoint.flushed) : null;
      this.abort.abort();
      await this.session?.stop();
      await this.done.catch(() => undefined);
      await Promise.race([this.producer.disconnect(), deadline(STOP_FLUSH_TIMEOUT_MS)]);
      this.log.info({ acknowledged }, 'publisher stopped');
    })();
    return this.stopping;
  }

  health(): { ok: boolean; detail: Record<string, unknown> } {
    const cp = this.checkpoint;
    return {
      ok: this.session !== null && !this.stopping,
      detail: {
        connected: this.session !== null,
        paused: this.pipeline?.isPaused ?? false,
        acknowledgedLsn: cp ? formatLsn(cp.flushed) : null,
        publishedLsn: cp ? formatLsn(cp.published) : null,
        receivedLsn: cp ? formatLsn(cp.received) : null,
        inFlightBytes: this.producer.bytesInFlight,
        lastError: this.lastError,
      },
    };
  }
}

export async function start(ctx: RoleContext): Promise<Role> {
  const publisher = new Publisher(ctx);
  try {
    await publisher.prepare();
  } catch (err) {
    await publisher.stop().catch(() => undefined);
    throw err;
  }
  publisher.run();
  return { name: 'publish', get done() { return publisher.done; }, stop: () => publisher.stop(), health: () => publisher.health() };
}
