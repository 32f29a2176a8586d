/**
 * The L1 tier: an in-process LRU of values read from Redis, kept in step with Redis by
 * server-assisted client-side caching (RESP2 redirect mode). Two connections of its own:
 *
 * - the subscriber, SUBSCRIBEd to `__redis__:invalidate`;
 * - the reader, with `CLIENT TRACKING ON REDIRECT <subscriber's id>`. Every value that enters L1
 *   was read by this connection (GET + PTTL in one MULTI), so Redis remembers the key for it and
 *   sends the key on the subscriber when it changes, is deleted, expires or is evicted (`null`
 *   after FLUSHALL / FLUSHDB).
 *
 * Rules that keep L1 from holding a value Redis no longer holds:
 * 1. Nothing is stored unless tracking is established on both current connections. Either one
 *    closing (Redis restart, network, CLIENT KILL) flushes L1 and stops storing; once both are
 *    back, tracking is re-issued with the new redirect id, L1 is flushed again, and storing resumes.
 * 2. Every flush bumps an epoch; a read stores only if the epoch it started in is still current.
 * 3. An invalidation of a key whose read is in flight bumps that key's generation; the read stores
 *    only if the generation is unchanged (the invalidation may arrive before the read's reply).
 * 4. An entry never outlives the Redis value's remaining TTL (PTTL, read with the value) or ttlMs.
 */
import type { Redis } from 'ioredis';
import { LruStore } from './lru.js';

export const INVALIDATE_CHANNEL = '__redis__:invalidate';

export interface L1Options {
  /** Most entries held. Default 10000. */
  maxEntries?: number;
  /** Most bytes held (keys and values). Default 64 MiB. */
  maxBytes?: number;
  /** Longest an entry is held, also capped by the Redis value's remaining TTL. Default 60000. */
  ttlMs?: number;
  /**
   * Both connections are PINGed this often; one not answered within 2 x heartbeatMs is taken as
   * lost (a silent network failure closes no socket): L1 is flushed and the connection reopened.
   * Default 1000.
   */
  heartbeatMs?: number;
}

export const DEFAULT_L1 = Object.freeze({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 60_000, heartbeatMs: 1_000 });

export type L1FlushReason = 'flushall' | 'tracking-lost' | 'tracking-restored' | 'sync-failed' | 'heartbeat-failed';
export type L1SkipReason = 'invalidated-in-flight' | 'untracked';

export type L1Event =
  | { type: 'l1-drop'; key: string }
  | { type: 'l1-flush'; reason: L1FlushReason; entries: number }
  | { type: 'l1-store-skipped'; reason: L1SkipReason }
  | { type: 'l1-tracking'; state: 'on' | 'off' };

export interface L1Stats {
  entries: number;
  bytes: number;
  /** Whether invalidations are being received (values are stored only then). */
  tracking: boolean;
  /** Entries dropped by an invalidation message from Redis. */
  drops: number;
  /** Whole-L1 flushes (FLUSHALL, a connection lost or re-established). */
  flushes: number;
  /** Entries pushed out by maxEntries / maxBytes. */
  evictions: number;
  /** Values read from Redis but not stored, by reason. */
  storeSkipped: Record<L1SkipReason, number>;
}

/** What a tracked read saw: the value (null: a miss), its PTTL, and its load time when asked for. */
export interface L1Read {
  value: Buffer | null;
  pttlMs: number;
  loadTime: Buffer | null;
}

interface InFlight {
  readers: number;
  generation: number;
}

export class L1Tier {
  private readonly store: LruStore;
  private readonly ttlMs: number;
  private readonly prefix: string;
  private readonly reader: Redis;
  private readonly subscriber: Redis;
  private readonly inFlight = new Map<string, InFlight>();
  private epoch = 0;
  private tracking = false;
  /** Bumped by every connection loss: a link() that started before one does not finish. */
  private linkAttempt = 0;
  private subscribed: Promise<number> | undefined;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private heartbeatPending = false;
  private readonly counts = { drops: 0, flushes: 0, storeSkipped: { 'invalidated-in-flight': 0, untracked: 0 } as Record<L1SkipReason, number> };

  constructor(
    base: Redis,
    options: L1Options,
    private readonly emit: (event: L1Event) => void,
    private readonly now: () => number = Date.now,
  ) {
    const { maxEntries, maxBytes, ttlMs, heartbeatMs } = { ...DEFAULT_L1, ...options };
    for (const [name, v] of [['ttlMs', ttlMs], ['heartbeatMs', heartbeatMs]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`l1.${name} must be a positive integer number of milliseconds, got ${String(v)}`);
    }
    this.store = new LruStore({ maxEntries, maxBytes });
    this.ttlMs = ttlMs;
    this.prefix = base.options.keyPrefix ?? '';
    // Own connections: tracking belongs to the connection that read the key, and a subscribed
    // connection can do nothing else in RESP2. autoResubscribe is off because a reconnected
    // subscriber has a new client id that the reader must be told about first (link()).
    // lazyConnect off: a duplicate of a lazy client would inherit it, and the subscriber, which
    // never sends a command of its own, would then never connect (L1 would never track).
    this.subscriber = base.duplicate({ autoResubscribe: false, lazyConnect: false, connectionName: 'evictd-l1-invalidations' });
    this.reader = base.duplicate({ lazyConnect: false, connectionName: 'evictd-l1-reader' });
    for (const conn of [this.subscriber, this.reader]) {
      conn.on('ready', () => void this.link());
      conn.on('close', () => this.lost(conn === this.subscriber));
      // Errors surface as 'close' (flush) and as the callers' rejected commands; ioredis would
      // otherwise print every reconnect attempt.
      conn.on('error', () => undefined);
    }
    this.subscriber.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.invalidated(message);
    });
    this.heartbeat = setInterval(() => void this.beat(heartbeatMs * 2), heartbeatMs);
    this.heartbeat.unref();
  }

  /** The held value, or undefined. */
  get(key: string): Buffer | undefined {
    return this.store.get(key, this.now());
  }

  /** The unexpired entries (inspection and tests; does not touch recency). */
  entries(): Array<[string, Buffer]> {
    return [...this.store.live(this.now())];
  }

  get isTracking(): boolean {
    return this.tracking;
  }

  /**
   * GET + PTTL on the tracked connection; stores the value in L1 when rules 1-3 allow. Resolves
   * with the value (null on a miss) either way; rejects on a Redis error. With `refresh` (early
   * refresh on) the value's load time is read in the same MULTI, and the entry's L1 lifetime ends
   * `refresh.reserveMs(loadTime)` before the Redis expiry, so the reads that may decide to refresh
   * it early reach Redis instead of being answered by L1 until the value expires.
   */
  async read(key: string, refresh?: { loadTimeKey: string; reserveMs: (loadTime: Buffer | null) => number }): Promise<L1Read> {
    const startEpoch = this.epoch;
    const tracked = this.tracking;
    let flight = this.inFlight.get(key);
    if (!flight) this.inFlight.set(key, (flight = { readers: 0, generation: 0 }));
    flight.readers++;
    const startGeneration = flight.generation;
    try {
      const tx = this.reader.multi().getBuffer(key).pttl(key);
      if (refresh) tx.getBuffer(refresh.loadTimeKey);
      const replies = await tx.exec();
      if (!replies) throw new Error(`L1 read of ${key}: Redis discarded the transaction`);
      const [[getErr, value], [pttlErr, pttl], lt] = replies as [[Error | null, Buffer | null], [Error | null, number], [Error | null, Buffer | null] | undefined];
      if (getErr) throw getErr;
      if (pttlErr) throw pttlErr;
      if (lt?.[0]) throw lt[0];
      const loadTime = lt?.[1] ?? null;
      if (value === null) return { value, pttlMs: pttl, loadTime };
      if (!tracked || !this.tracking || this.epoch !== startEpoch) this.skip('untracked');
      else if (flight.generation !== startGeneration) this.skip('invalidated-in-flight');
      else {
        // -1: no expiry in Redis; -2 cannot happen for a value read in the same MULTI.
        const reserve = refresh && pttl >= 0 ? refresh.reserveMs(loadTime) : 0;
        const ttl = pttl >= 0 ? Math.min(pttl - reserve, this.ttlMs) : this.ttlMs;
        if (ttl > 0) this.store.set(key, value, this.now() + ttl);
      }
      return { value, pttlMs: pttl, loadTime };
    } finally {
      if (--flight.readers === 0) this.inFlight.delete(key);
    }
  }

  stats(): L1Stats {
    return {
      entries: this.store.size,
      bytes: this.store.bytes,
      tracking: this.tracking,
      drops: this.counts.drops,
      flushes: this.counts.flushes,
      evictions: this.store.evictions,
      storeSkipped: { ...this.counts.storeSkipped },
    };
  }

  /** Resolves once tracking is established (e.g. before a test measures drops). */
  async whenTracking(timeoutMs: number): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (!this.tracking) {
      if (this.closed) throw new Error('L1 closed');
      if (this.now() > deadline) throw new Error(`L1 tracking not established within ${timeoutMs} ms (is Redis reachable, version >= 6?)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Resolves once every invalidation Redis sent before this call has been applied: a PING on the
   * subscriber is answered after the messages queued before it. If it fails or takes longer than
   * timeoutMs, L1 is flushed instead (so the caller's write is never hidden by an old entry).
   */
  async sync(timeoutMs: number): Promise<void> {
    if (!this.tracking) return; // flushed at the loss, storing nothing until tracking is back
    const epoch = this.epoch;
    const ok = await pingWithin(this.subscriber, timeoutMs);
    if (!ok && this.epoch === epoch) this.flush('sync-failed');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.flush('tracking-lost');
    this.setTracking(false);
    // quit() would wait for a reconnect while Redis is down.
    await Promise.all([this.subscriber, this.reader].map((c) => (c.status === 'ready' ? c.quit().then(() => undefined, () => c.disconnect()) : c.disconnect())));
  }

  /** PINGs both connections while tracking; one that does not answer in time is reopened. */
  private async beat(timeoutMs: number): Promise<void> {
    if (!this.tracking || this.heartbeatPending) return;
    this.heartbeatPending = true;
    const attempt = this.linkAttempt;
    try {
      const answered = await Promise.all([this.subscriber, this.reader].map(async (conn) => ({ conn, ok: await pingWithin(conn, timeoutMs) })));
      const dead = answered.filter((a) => !a.ok);
      // A drop handled meanwhile (linkAttempt moved) already flushed and reconnects.
      if (dead.length === 0 || this.closed || this.linkAttempt !== attempt) return;
      this.setTracking(false);
      this.flush('heartbeat-failed');
      // Reconnect: 'close' then 'ready' re-establish tracking like any other drop.
      for (const { conn } of dead) conn.disconnect(true);
    } finally {
      this.heartbeatPending = false;
    }
  }

  private skip(reason: L1SkipReason): void {
    this.counts.storeSkipped[reason]++;
    this.emit({ type: 'l1-store-skipped', reason });
  }

  private invalidated(message: unknown): void {
    if (!Array.isArray(message)) {
      // null: FLUSHALL / FLUSHDB (or the tracking table overflowed). Every held key is gone.
      this.flush('flushall');
      return;
    }
    for (const raw of message as Buffer[]) {
      const full = raw.toString();
      if (!full.startsWith(this.prefix)) continue;
      const key = full.slice(this.prefix.length);
      const flight = this.inFlight.get(key);
      if (flight) flight.generation++;
      if (this.store.delete(key)) {
        this.counts.drops++;
        this.emit({ type: 'l1-drop', key });
      }
    }
  }

  private flush(reason: L1FlushReason): void {
    this.epoch++;
    const entries = this.store.clear();
    this.counts.flushes++;
    this.emit({ type: 'l1-flush', reason, entries });
  }

  private setTracking(on: boolean): void {
    if (this.tracking === on) return;
    this.tracking = on;
    this.emit({ type: 'l1-tracking', state: on ? 'on' : 'off' });
  }

  private lost(subscriber: boolean): void {
    this.linkAttempt++;
    if (subscriber) this.subscribed = undefined;
    if (!this.tracking && this.store.size === 0) return;
    this.setTracking(false);
    this.flush('tracking-lost');
  }

  /** Once both connections are ready: subscribe, point the reader's tracking at the subscriber, flush, store again. */
  private async link(): Promise<void> {
    const attempt = ++this.linkAttempt;
    if (this.closed || this.subscriber.status !== 'ready' || this.reader.status !== 'ready') return;
    try {
      this.subscribed ??= this.subscribe();
      const redirectId = await this.subscribed;
      if (attempt !== this.linkAttempt) return;
      await this.reader.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(redirectId));
      if (attempt !== this.linkAttempt || this.closed) return;
      // Reads answered before this point may be untracked (resent after a reconnect): drop them.
      this.flush('tracking-restored');
      this.setTracking(true);
    } catch {
      // A connection failed mid-way: its 'close' and next 'ready' start over.
      if (attempt === this.linkAttempt) this.subscribed = undefined;
    }
  }

  private async subscribe(): Promise<number> {
    // CLIENT ID must come before SUBSCRIBE: a subscribed RESP2 connection accepts no other command.
    const id = (await this.subscriber.call('CLIENT', 'ID')) as number;
    await this.subscriber.subscribe(INVALIDATE_CHANNEL);
    return id;
  }
}

/** Whether the connection answers a PING within timeoutMs (a subscribed RESP2 connection may PING too). */
async function pingWithin(conn: Redis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    conn.ping().then(() => true, () => false),
    new Promise<false>((resolve) => (timer = setTimeout(resolve, timeoutMs, false))),
  ]);
  clearTimeout(timer);
  return ok;
}
