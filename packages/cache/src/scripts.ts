import type { Redis } from 'ioredis';
import { redisScriptSource, type RedisScriptName } from '@evictd/schemas';

/**
 * The protocol scripts as ioredis custom commands. ioredis sends EVALSHA and falls back to EVAL
 * on NOSCRIPT (and on every new connection), so the scripts survive a Redis restart that empties
 * the script cache. Commands are defined once per client under evictd-specific names.
 */
type Arg = string | Buffer | number;
type Reply = unknown;

export interface ProtocolScripts {
  lease(valueKey: string, leaseKey: string, token: string, leaseTtlMs: number): Promise<Buffer[]>;
  /** read.lua: GET + PTTL of the key and GET of its load-time key, one command (early refresh's hit path). */
  read(valueKey: string, loadTimeKey: string): Promise<[Buffer | null, number, Buffer | null]>;
  /** refresh.lua: the lease for a key that is still cached ('lease' | 'busy' | 'gone'). */
  refresh(valueKey: string, leaseKey: string, token: string, leaseTtlMs: number): Promise<Buffer[]>;
  /** With `loadTimeMs`, the last of `keys` is the load-time key (fill.lua ARGV[7]). */
  fill(keys: string[], leaseValue: string, value: string | Buffer, ttlMs: number, markerTtlMs: number, tagCount: number, shapeCount: number, loadTimeMs?: string): Promise<string>;
  release(leaseKey: string, leaseValue: string): Promise<number>;
  flush(keys: string[], shapeCount: number, markerTtlMs: number): Promise<number>;
  drain(cleanupIndexKey: string, cleanupSetKey: string, count: number): Promise<[number, number]>;
}

const COMMANDS: Record<RedisScriptName, string> = {
  lease: 'evictdLease',
  read: 'evictdRead',
  refresh: 'evictdRefresh',
  fill: 'evictdFill',
  release: 'evictdRelease',
  invalidate: 'evictdInvalidate',
  flush: 'evictdFlush',
  drain: 'evictdDrain',
};

const defined = new WeakSet<Redis>();

/** Custom command names on a client (or pipeline of that client) after defineScripts(). */
export function commandName(script: RedisScriptName): string {
  return COMMANDS[script];
}

export function defineScripts(redis: Redis): void {
  if (defined.has(redis)) return;
  for (const [script, name] of Object.entries(COMMANDS) as [RedisScriptName, string][]) {
    // No fixed numberOfKeys: every call passes its key count first, as EVAL does.
    redis.defineCommand(name, { lua: redisScriptSource(script) });
  }
  defined.add(redis);
}

type Invoke = (name: string, args: Arg[]) => Promise<Reply>;

function invoker(target: object): Invoke {
  return (name, args) => {
    const fn = (target as Record<string, unknown>)[name];
    if (typeof fn !== 'function') throw new Error(`evictd script command ${name} is not defined on this client`);
    return (fn as (...a: Arg[]) => Promise<Reply>).apply(target, args);
  };
}

export function protocolScripts(redis: Redis): ProtocolScripts {
  defineScripts(redis);
  const call = invoker(redis);
  return {
    lease: (valueKey, leaseKey, token, leaseTtlMs) =>
      call(`${COMMANDS.lease}Buffer`, [2, valueKey, leaseKey, token, leaseTtlMs]) as Promise<Buffer[]>,
    read: (valueKey, loadTimeKey) => call(`${COMMANDS.read}Buffer`, [2, valueKey, loadTimeKey]) as Promise<[Buffer | null, number, Buffer | null]>,
    refresh: (valueKey, leaseKey, token, leaseTtlMs) =>
      call(`${COMMANDS.refresh}Buffer`, [2, valueKey, leaseKey, token, leaseTtlMs]) as Promise<Buffer[]>,
    fill: (keys, leaseValue, value, ttlMs, markerTtlMs, tagCount, shapeCount, loadTimeMs) =>
      call(COMMANDS.fill, [keys.length, ...keys, leaseValue, value, ttlMs, markerTtlMs, tagCount, shapeCount, ...(loadTimeMs === undefined ? [] : [loadTimeMs])]) as Promise<string>,
    release: (leaseKey, leaseValue) => call(COMMANDS.release, [1, leaseKey, leaseValue]) as Promise<number>,
    flush: (keys, shapeCount, markerTtlMs) => call(COMMANDS.flush, [keys.length, ...keys, shapeCount, markerTtlMs]) as Promise<number>,
    drain: (cleanupIndexKey, cleanupSetKey, count) => call(COMMANDS.drain, [2, cleanupIndexKey, cleanupSetKey, count]) as Promise<[number, number]>,
  };
}

/** Queues one invalidate.lua call on a pipeline of a client that went through defineScripts(). */
export function queueInvalidate(pipeline: object, keys: string[], keyCount: number, tagCount: number, markerTtlMs: number): void {
  void invoker(pipeline)(COMMANDS.invalidate, [keys.length, ...keys, keyCount, tagCount, markerTtlMs]);
}
