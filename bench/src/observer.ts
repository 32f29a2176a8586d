/**
 * Watches Redis independently of evictd: keyspace notifications on a dedicated subscriber
 * connection report each key's deletion (or marker write) the moment Redis performs it.
 * Notifications are enabled on the stack's own Redis only (never a shared server), and enabled
 * again after a restart, since CONFIG SET does not survive one.
 */
import { Redis } from 'ioredis';
import { wallNow } from './workload.js';

export interface ObserverOptions {
  redisUrl: string;
  /** Keyspace event names to watch: 'del' (UNLINK and DEL report it), 'set', ... */
  events: readonly ('del' | 'set' | 'expired')[];
  /** Called for every notified key, with the wall-clock time it was received. */
  onKey: (key: string, atMs: number, event: string) => void;
}

export interface Observer {
  /** Resolves once notifications are enabled and the subscription is live. */
  ready: Promise<void>;
  /** Times the subscriber reconnected (each gap may hide notifications). */
  readonly reconnects: number;
  close(): Promise<void>;
}

/** Notification classes: E (keyevent channel) + g (generic: del, expired) + $ (string: set). */
export function notifyFlags(events: readonly string[]): string {
  const classes = new Set<string>(['E']);
  for (const e of events) classes.add(e === 'set' ? '$' : e === 'expired' ? 'x' : 'g');
  return [...classes].join('');
}

export function observeKeyspace(options: ObserverOptions): Observer {
  const channels = options.events.map((e) => `__keyevent@0__:${e}`);
  const flags = notifyFlags(options.events);
  const retryStrategy = () => 100; // the fault test restarts Redis: keep trying, quickly
  const admin = new Redis(options.redisUrl, { retryStrategy, maxRetriesPerRequest: null, lazyConnect: true });
  const sub = new Redis(options.redisUrl, { retryStrategy, maxRetriesPerRequest: null, lazyConnect: true });
  let reconnects = 0;
  let connectedOnce = false;
  admin.on('error', () => undefined); // reconnection is the retry strategy's job
  sub.on('error', () => undefined);
  admin.on('ready', () => {
    void admin.config('SET', 'notify-keyspace-events', flags).catch(() => undefined);
  });
  sub.on('ready', () => {
    if (connectedOnce) reconnects += 1;
    connectedOnce = true;
  });
  sub.on('message', (channel: string, key: string) => {
    options.onKey(key, wallNow(), channel.slice(channel.indexOf(':') + 1));
  });
  const ready = (async () => {
    await admin.connect();
    await admin.config('SET', 'notify-keyspace-events', flags);
    await sub.connect();
    await sub.subscribe(...channels);
  })();
  return {
    ready,
    get reconnects() {
      return reconnects;
    },
    async close() {
      sub.disconnect();
      admin.disconnect();
    },
  };
}
