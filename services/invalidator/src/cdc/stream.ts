/**
 * The replication connection: the only module that touches pg-logical-replication (and its pg
 * connection). It starts pgoutput (proto v1) on the slot from `0/0` so the server resumes at the
 * slot's confirmed_flush_lsn, hands every decoded message and keepalive to a handler in order,
 * writes standby status updates with exactly the position it is given, and pauses the socket for
 * backpressure.
 *
 * pg-logical-replication 2.5.0, read before relying on it:
 * - with `acknowledge.auto: false` its per-message ack is a no-op, and with `timeoutSeconds: 0`
 *   its interval timer (which would ack the last *received* LSN) is never started;
 * - its own `acknowledge(lsn)` sends lsn + 1, which could skip a transaction whose commit record
 *   starts right at our commit end, so status updates are written here instead;
 * - it converts text values with pg's global type parsers (Dates lose microseconds, json is
 *   re-encoded), so each Relation's column parsers are replaced by identity before any tuple of it
 *   is parsed: the decoder gets Postgres' text output and converts it itself (pg-values.ts);
 * - `subscribe` keeps the last received LSN and would resume there on a second call; a service is
 *   therefore used for one session only.
 */
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import pg, { type ClientConfig } from 'pg';
import type { Socket } from 'node:net';
import type { PgoutputMessage } from './decode.js';
import { parseLsn, type Lsn } from './lsn.js';
import { SESSION_OPTIONS } from './pg-values.js';

export interface ReplicationHandler {
  /** Called synchronously, in WAL order. Throwing ends the session with that error. */
  onMessage(lsn: string, message: PgoutputMessage): void;
  /** A primary keepalive: the server's WAL end, and whether it wants a status update now. */
  onKeepalive(walEnd: Lsn, replyRequested: boolean): void;
}

export interface ReplicationSession {
  /** Settles when the session ends: resolves after stop(), rejects when the connection or a handler fails. */
  readonly ended: Promise<void>;
  sendStatus(lsn: Lsn): void;
  /** Stop/resume reading the socket; Postgres buffers and eventually waits. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface ReplicationOptions {
  connection: ClientConfig;
  slot: string;
  publication: string;
}

/** The parts of the library's pg connection this module uses (2.5.0 keeps it in `_connection`). */
interface PgConnection {
  stream: Socket;
  sendCopyFromChunk(chunk: Buffer): void;
}

function connectionOf(service: LogicalReplicationService): PgConnection {
  const connection = (service as unknown as { _connection?: PgConnection | null })._connection;
  if (!connection || typeof connection.sendCopyFromChunk !== 'function' || typeof connection.stream?.pause !== 'function') {
    throw new Error('pg-logical-replication has no usable connection (library internals changed? evictd is tested with 2.5.0)');
  }
  return connection;
}

const PG_EPOCH_MS = 946_684_800_000n; // 2000-01-01T00:00:00Z

/** Standby status update ('r'): written, flushed and applied position all `lsn`; clock in µs since 2000-01-01. */
export function standbyStatusUpdate(lsn: Lsn, nowMs: number, replyRequested = false): Buffer {
  const buf = Buffer.alloc(34);
  buf.write('r', 0, 'latin1');
  buf.writeBigUInt64BE(lsn, 1);
  buf.writeBigUInt64BE(lsn, 9);
  buf.writeBigUInt64BE(lsn, 17);
  buf.writeBigInt64BE((BigInt(Math.floor(nowMs)) - PG_EPOCH_MS) * 1000n, 25);
  buf.writeUInt8(replyRequested ? 1 : 0, 33);
  return buf;
}

const identity = (text: unknown) => text;

/** Runs `fn` on a plain (non-replication) connection, for catalog checks and slot management. */
export async function withClient<T>(connection: ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...connection, application_name: 'evictd-publish' });
  client.on('error', () => undefined); // a dropped idle connection surfaces as the failed query instead
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startReplication(options: ReplicationOptions, handler: ReplicationHandler): Promise<ReplicationSession> {
  const service = new LogicalReplicationService(
    { ...options.connection, options: SESSION_OPTIONS, application_name: 'evictd-publish' },
    { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
  );
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication] });
  let stopping = false;
  let fail!: (err: unknown) => void;
  let finish!: () => void;
  const ended = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const end = (err: unknown) => {
    if (stopping) finish();
    else fail(err);
    void service.destroy().catch(() => undefined);
  };

  service.on('data', (lsn: string, message: PgoutputMessage & { columns?: { parser: unknown }[] }) => {
    try {
      if (message.tag === 'relation') for (const column of message.columns ?? []) column.parser = identity;
      handler.onMessage(lsn, message);
    } catch (err) {
      end(err);
    }
  });
  service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => {
    try {
      handler.onKeepalive(parseLsn(lsn), shouldRespond);
    } catch (err) {
      end(err);
    }
  });
  service.on('error', end);

  const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
  // '0/0': the server starts at the slot's confirmed_flush_lsn (a higher position would skip changes).
  const running = service.subscribe(plugin, options.slot, '0/0');
  running.then(() => end(new Error('replication stream ended by the server')), end);
  await Promise.race([started, ended]);

  return {
    ended,
    sendStatus(lsn) {
      connectionOf(service).sendCopyFromChunk(standbyStatusUpdate(lsn, Date.now()));
    },
    pause() {
      connectionOf(service).stream.pause();
    },
    resume() {
      connectionOf(service).stream.resume();
    },
    async stop() {
      stopping = true;
      // A paused socket never sees the server close it, and pg's end() waits for exactly that.
      (service as unknown as { _connection?: PgConnection | null })._connection?.stream.resume();
      await service.destroy().catch(() => undefined);
      finish();
    },
  };
}
