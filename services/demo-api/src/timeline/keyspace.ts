/**
 * "Key invalidated" and "refilled", observed in Redis itself through keyspace notifications on a
 * subscriber connection of its own, independently of evictd.
 *
 * Needs the server setting notify-keyspace-events to contain K (keyspace channel), g (DEL/UNLINK)
 * and $ (SET). This module adds them with CONFIG SET when missing; where CONFIG is not allowed
 * (managed Redis, or the docker-compose demo) start redis-server with `--notify-keyspace-events Kg$`.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisLayout } from '@evictd/schemas';
import type { RedisObservation } from './timeline.js';

/** The flags the timeline needs: keyspace channel, generic commands (del), string commands (set). */
const NEEDED_FLAGS = ['K', 'g', '$'];

/** The flags to add to a notify-keyspace-events value ('' when nothing is missing). 'A' stands for g$lshzxetd. */
export function missingNotifyFlags(current: string): string {
  return NEEDED_FLAGS.filter((f) => !current.includes(f) && !(f !== 'K' && current.includes('A'))).join('');
}

/** What a keyspace message says about a key, or null when it is not about deletion or a write. */
export function classifyKeyspaceMessage(channel: string, event: string, channelPrefix: string, markerPrefix: string, at: number): RedisObservation | null {
  if (!channel.startsWith(channelPrefix)) return null;
  const key = channel.slice(channelPrefix.length);
  if (key.startsWith(markerPrefix)) {
    return event === 'set' ? { key: key.slice(markerPrefix.length), at, kind: 'marker' } : null;
  }
  if (event === 'del') return { key, at, kind: 'deleted' };
  if (event === 'set') return { key, at, kind: 'written' };
  return null;
}

/** Escapes glob characters for PSUBSCRIBE. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export interface KeyspaceWatch {
  /** False when the notifications could not be enabled (the timeline then lacks those steps). */
  enabled: boolean;
  stop(): Promise<void>;
}

export interface KeyspaceWatchOptions {
  redis: Redis;
  layout: RedisLayout;
  /** The application key patterns to watch, e.g. product:* */
  keyPatterns: readonly string[];
  logger: Logger;
  onObservation(obs: RedisObservation): void;
}

export async function watchKeyspace(options: KeyspaceWatchOptions): Promise<KeyspaceWatch> {
  const { redis, layout, logger } = options;
  const enable = async (): Promise<boolean> => {
    try {
      const [, current = ''] = (await redis.config('GET', 'notify-keyspace-events')) as string[];
      const missing = missingNotifyFlags(current);
      if (missing) await redis.config('SET', 'notify-keyspace-events', current + missing);
      return true;
    } catch (err) {
      logger.warn(
        { err },
        'timeline: cannot enable Redis keyspace notifications (CONFIG refused); start redis-server with --notify-keyspace-events Kg$ to see invalidations in the timeline',
      );
      return false;
    }
  };
  if (!(await enable())) return { enabled: false, stop: async () => undefined };

  const channelPrefix = `__keyspace@${redis.options.db ?? 0}__:`;
  const markerPrefix = layout.keyMarkerKey('');
  const patterns = [...options.keyPatterns, `${globEscape(markerPrefix)}*`].map((p) => channelPrefix + p);
  const subscriber = redis.duplicate();
  let downSince: number | null = null;
  subscriber.on('error', (err: unknown) => {
    if (downSince !== null) return; // once per outage, not once per reconnect attempt
    downSince = Date.now();
    logger.warn({ err }, 'timeline: Redis subscriber connection error (retrying)');
  });
  subscriber.on('ready', () => (downSince = null));
  subscriber.on('pmessage', (_pattern: string, channel: string, event: string) => {
    const obs = classifyKeyspaceMessage(channel, event, channelPrefix, markerPrefix, Date.now());
    if (obs) options.onObservation(obs);
  });
  await subscriber.psubscribe(...patterns);
  // A restarted Redis forgets a setting made with CONFIG SET: make it again on every reconnect.
  subscriber.on('ready', () => void enable());
  return {
    enabled: true,
    stop: async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
