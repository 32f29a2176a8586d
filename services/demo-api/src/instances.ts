/**
 * The two-instance view: each demo API instance reports its own cache (L1 drops as they happen,
 * per-tier counters and breaker state every second) on its event stream; instance A relays B's
 * reports to its page, so one page shows both L1s dropping a key. Also the local demo's Redis
 * outage (only when the launcher that owns the stack hands a control in).
 */
import type { Cache, CacheEvent } from '@evictd/cache';
import type { Logger } from 'pino';

export interface InstanceReport {
  instance: string;
  at: number;
  l1Hits: number;
  hits: number;
  misses: number;
  degraded: number;
  breaker: string;
  l1: { entries: number; tracking: boolean; drops: number; flushes: number } | null;
}

/** One L1 change as the page shows it: a key dropped by Redis' invalidation, or the whole L1 flushed. */
export type L1Report = { instance: string; at: number; key: string } | { instance: string; at: number; flush: string; entries: number };

export function instanceReport(instance: string, cache: Cache): InstanceReport {
  const s = cache.stats();
  const degraded = Object.values(s.degraded).reduce((a, b) => a + b, 0);
  return {
    instance,
    at: Date.now(),
    l1Hits: s.l1Hits,
    hits: s.hits,
    misses: s.misses,
    degraded,
    breaker: s.breaker.state,
    l1: s.l1 ? { entries: s.l1.entries, tracking: s.l1.tracking, drops: s.l1.drops, flushes: s.l1.flushes } : null,
  };
}

/** The L1 report for a cache event, or null for events the page does not show one by one. */
export function l1Report(instance: string, event: CacheEvent, at: number): L1Report | null {
  if (event.type === 'l1-drop') return { instance, at, key: event.key };
  if (event.type === 'l1-flush' && event.entries > 0) return { instance, at, flush: event.reason, entries: event.entries };
  return null;
}

/** Events of the peer's stream that are relayed as they are. */
export const RELAYED_EVENTS = new Set(['l1', 'instance']);

/**
 * Reads the peer's /events (server-sent events) and hands on the relayed ones; reconnects after
 * a second while the peer is away. stop() ends it.
 */
export function relayPeer(options: { url: string; logger: Logger; onEvent(event: string, data: unknown): void }): { stop(): void } {
  const abort = new AbortController();
  // Warn at the second failure in a row: a peer that just stopped (Ctrl-C reaches both processes) is not news.
  let failures = 0;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch(`${options.url}/events`, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        failures = 0;
        let buffer = '';
        for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data && RELAYED_EVENTS.has(event)) options.onEvent(event, JSON.parse(data));
          }
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        if (++failures === 2) options.logger.warn({ err, peer: options.url }, 'cannot read the peer instance\'s events; retrying every second');
      }
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    }
  };
  void run();
  return { stop: () => abort.abort() };
}

/** Stops and starts the local stack's Redis (npm run demo only: the launcher owns the servers). */
export interface RedisControl {
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * One step of an outage. Each step carries the outage's times so far (began: when it began
 * stopping; stoppedAt: when Redis was down), so a page that missed earlier steps (its event stream
 * reconnected, or the steps came before the button's answer) still tells the whole outage.
 */
export type OutageState = { state: 'stopping' | 'stopped' | 'starting' | 'started' | 'failed'; at: number; began: number; stoppedAt?: number; seconds: number; error?: string };

/** One outage at a time: stop Redis, wait, start it again, reporting each step. */
export function createOutage(control: RedisControl, report: (state: OutageState) => void, logger: Logger) {
  let running: Promise<void> | undefined;
  return {
    get running() {
      return running !== undefined;
    },
    begin(seconds: number): boolean {
      if (running) return false;
      const began = Date.now();
      let stoppedAt: number | undefined;
      const step = (state: OutageState['state'], error?: string, at = Date.now()) => report({ state, at, began, ...(stoppedAt ? { stoppedAt } : {}), seconds, ...(error ? { error } : {}) });
      running = (async () => {
        try {
          step('stopping', undefined, began); // the same instant, not a second clock read a millisecond later
          await control.stop();
          stoppedAt = Date.now();
          step('stopped', undefined, stoppedAt);
          await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
          step('starting');
          await control.start();
          step('started');
        } catch (err) {
          logger.error({ err }, 'Redis outage: could not stop or start Redis');
          step('failed', (err as Error).message);
          await control.start().catch(() => undefined);
        } finally {
          running = undefined;
        }
      })();
      return true;
    },
    /** Resolves when the outage in progress (if any) is over and Redis runs again. */
    async settle(): Promise<void> {
      await running;
    },
  };
}
