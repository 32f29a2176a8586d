/**
 * LSN bookkeeping for the publisher, and the only code that acknowledges positions to Postgres.
 *
 *   received  – highest WAL position the server reported (data or keepalive): for lag only.
 *   published – highest position up to which every event of every transaction is on Kafka.
 *   flushed   – highest position acknowledged to Postgres (the slot's confirmed_flush_lsn).
 *
 * Transactions in flight are tracked by their commit end LSN in commit order; `published` moves to
 * a commit only when it and every commit before it have no event left unacknowledged by Kafka.
 * Acknowledging the commit *end* LSN (not +1) is exact: Postgres skips on restart a transaction
 * only if its commit record starts before the confirmed position.
 */
import { formatLsn, maxLsn, type Lsn } from './lsn.js';

/** A transaction's share of the bookkeeping; events hold it until Kafka confirms them. */
export interface TxnTicket {
  /** Events of the transaction not yet confirmed by Kafka. */
  pending: number;
  /** Set at Commit; null while the transaction is still being received. */
  commitEndLsn: Lsn | null;
}

/**
 * Pure core: pops the fully delivered prefix of the in-flight queue (commit order) and returns the
 * highest commit end LSN reached, or `from` when the head is still waiting on Kafka.
 */
export function advancePublished(from: Lsn, queue: TxnTicket[]): Lsn {
  let published = from;
  while (queue.length > 0) {
    const head = queue[0]!;
    if (head.pending > 0 || head.commitEndLsn === null) break;
    published = maxLsn(published, head.commitEndLsn);
    queue.shift();
  }
  return published;
}

/**
 * Pure: what a keepalive lets us claim. With nothing received-but-undelivered (no open transaction,
 * empty queue), everything the server sent up to its WAL end was either published or filtered
 * out, so the slot may move there and stop retaining WAL for tables we do not publish.
 */
export function keepalivePosition(published: Lsn, walEnd: Lsn, idle: boolean): Lsn {
  return idle ? maxLsn(published, walEnd) : published;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export class Checkpoint {
  private receivedLsn: Lsn;
  private publishedLsn: Lsn;
  private flushedLsn: Lsn;
  /** Upper bound set by the lost-slot marker: never confirm a position the marker does not cover yet. */
  private allowedLsn: Lsn;
  private open: TxnTicket | null = null;
  private lastCommitInSession: Lsn = 0n;
  private readonly queue: TxnTicket[] = [];

  /**
   * @param start the slot's confirmed_flush_lsn when the session began
   * @param send writes a standby status update with exactly this position (the stream module's job)
   */
  constructor(start: Lsn, private readonly send: (lsn: Lsn) => void) {
    this.receivedLsn = start;
    this.publishedLsn = start;
    this.flushedLsn = start;
    this.allowedLsn = start;
  }

  get received(): Lsn {
    return this.receivedLsn;
  }
  get published(): Lsn {
    return this.publishedLsn;
  }
  get flushed(): Lsn {
    return this.flushedLsn;
  }
  /** Transactions received whose events Kafka has not all confirmed (including one still being received). */
  get inFlight(): number {
    return this.queue.length + (this.open ? 1 : 0);
  }

  observe(lsn: Lsn): void {
    this.receivedLsn = maxLsn(this.receivedLsn, lsn);
  }

  begin(): TxnTicket {
    if (this.open) throw new CheckpointError('Begin while a transaction is open');
    this.open = { pending: 0, commitEndLsn: null };
    return this.open;
  }

  /** An event of the open transaction was handed to the producer. */
  enqueued(ticket: TxnTicket, events = 1): void {
    if (ticket !== this.open) throw new CheckpointError('event enqueued for a transaction that is not the open one');
    ticket.pending += events;
  }

  commit(commitEndLsn: Lsn): void {
    const ticket = this.open;
    if (!ticket) throw new CheckpointError(`Commit ${formatLsn(commitEndLsn)} without Begin`);
    if (commitEndLsn <= this.lastCommitInSession) {
      throw new CheckpointError(`commit LSN went backwards: ${formatLsn(commitEndLsn)} after ${formatLsn(this.lastCommitInSession)}`);
    }
    this.lastCommitInSession = commitEndLsn;
    this.open = null;
    ticket.commitEndLsn = commitEndLsn;
    this.observe(commitEndLsn);
    this.queue.push(ticket);
    this.publishedLsn = advancePublished(this.publishedLsn, this.queue);
  }

  /** Kafka confirmed `events` events of the ticket's transaction. */
  delivered(ticket: TxnTicket, events = 1): void {
    if (events > ticket.pending) throw new CheckpointError(`more deliveries (${events}) than pending events (${ticket.pending})`);
    ticket.pending -= events;
    this.publishedLsn = advancePublished(this.publishedLsn, this.queue);
  }

  /** A server keepalive: moves `published` to its WAL end when nothing is in flight. */
  keepalive(walEnd: Lsn): void {
    this.observe(walEnd);
    this.publishedLsn = keepalivePosition(this.publishedLsn, walEnd, this.inFlight === 0);
  }

  /** The lost-slot marker now covers `lsn`. */
  allow(lsn: Lsn): void {
    this.allowedLsn = maxLsn(this.allowedLsn, lsn);
  }

  /** What may be confirmed now: delivered and covered by the marker. */
  get acknowledgeable(): Lsn {
    return this.publishedLsn < this.allowedLsn ? this.publishedLsn : this.allowedLsn;
  }

  /** Sends a status update with the highest acknowledgeable position (also as a keepalive reply). Returns it. */
  acknowledge(): Lsn {
    const lsn = this.acknowledgeable;
    if (lsn < this.flushedLsn) throw new CheckpointError(`acknowledged LSN would go backwards: ${formatLsn(lsn)} < ${formatLsn(this.flushedLsn)}`);
    this.send(lsn);
    this.flushedLsn = lsn;
    return lsn;
  }

  /**
   * A new replication session (after a reconnect) restarts at the slot's confirmed position: the
   * server resends everything after it, so whatever was in flight is forgotten here (late Kafka
   * acks of it no longer count) and will be published again.
   */
  restart(): void {
    this.open = null;
    this.queue.length = 0;
    this.lastCommitInSession = 0n;
  }
}
