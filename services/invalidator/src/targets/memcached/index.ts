/**
 * The Memcached target: every rendered key is deleted on every server of the pool with pipelined
 * text-protocol `delete`s, and `apply` resolves only once every server answered every command
 * (DELETED or NOT_FOUND), so the consumer commits nothing a server has not confirmed.
 *
 * Memcached has neither tags nor a way to list keys, so:
 *  - tags: refused at start (default), or `version-keys`: invalidating tag T sets
 *    `<keyPrefix>tagv:T` to a new random value on every server. The app reads that value (creating
 *    it with `add` and a random value when missing) and embeds it in the keys of T's entries, so
 *    entries stored under an older value are never read again; they age out by TTL / LRU.
 *  - shapes (TRUNCATE, lost-slot flush, a template value the event lacks: "everything this
 *    template can produce"): `flush_all` on every server (default; logged and counted), since
 *    anything less could leave a stale entry, or `ignore` (logged and counted, entries stay until
 *    their TTL).
 * Keys memcached cannot store (over 250 bytes, spaces, control characters) cannot hold a stale
 * value either: they are skipped, logged and counted, never sent.
 */
import { randomBytes } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { EvictdError, describeError } from '../../errors.js';
import type { Logger } from '../../observability/log.js';
import { retry } from '../../retry.js';
import type { BatchInvalidation } from '../../redis/batch.js';
import type { ApplyContext, ApplyOutcome, Target, TargetContext, TargetOutage } from '../target.js';
import { MemcachedConnection, commands, invalidKeyReason, type Command, type Reply } from './client.js';
import { memcachedTagProblem, type MemcachedTargetSettings } from './settings.js';

export { memcachedTagProblem };

/** Commands per pipelined write: bounds the bytes in flight per server, one reply wait per slice. */
export const PIPELINE_COMMANDS = 512;
/** How often an outage or skipped keys are logged again. */
const REPEAT_LOG_MS = 30_000;
/** Idle servers are probed (`version`) this often, so /healthz sees an outage without traffic. */
const PROBE_INTERVAL_MS = 5_000;

/** The version key of a tag (what the app embeds in that tag's entries' keys). */
export function tagVersionKey(keyPrefix: string, tag: string): string {
  return `${keyPrefix}tagv:${tag}`;
}

/** What one batch sends to each server. */
export interface MemcachedPlan {
  /** flush_all instead of everything else: it covers every key and version key of the batch. */
  readonly flush: boolean;
  readonly commands: readonly Command[];
  readonly keys: number;
  readonly tags: number;
  /** Shapes the batch asked for that `tableWide: ignore` leaves alone. */
  readonly ignoredShapes: readonly string[];
  readonly skipped: readonly { key: string; reason: string }[];
}

/** Pure: the commands for a batch. `newVersion` makes the value a tag's version key gets. */
export function planBatch(batch: BatchInvalidation, settings: Pick<MemcachedTargetSettings, 'keyPrefix' | 'tags' | 'tableWide'>, newVersion: () => string): MemcachedPlan {
  const shapes = [...batch.keyShapes, ...batch.tagShapes];
  if (shapes.length > 0 && settings.tableWide === 'flush-all') {
    return { flush: true, commands: [commands.flushAll()], keys: batch.keys.length, tags: batch.tags.length, ignoredShapes: [], skipped: [] };
  }
  if (batch.tags.length > 0 && settings.tags !== 'version-keys') {
    // Refused at start (memcachedTagProblem): reaching this is a bug, not something to retry.
    throw new EvictdError('MEMCACHED_TAGS', `a batch has tags (${batch.tags.slice(0, 3).join(', ')}) but tags are refused for this memcached target`);
  }
  const skipped: { key: string; reason: string }[] = [];
  const out: Command[] = [];
  let keys = 0;
  let tags = 0;
  for (const key of batch.keys) {
    const full = settings.keyPrefix + key;
    const reason = invalidKeyReason(full);
    if (reason) skipped.push({ key: full, reason });
    else {
      out.push(commands.delete(full));
      keys++;
    }
  }
  for (const tag of batch.tags) {
    const full = tagVersionKey(settings.keyPrefix, tag);
    const reason = invalidKeyReason(full);
    if (reason) skipped.push({ key: full, reason });
    else {
      out.push(commands.set(full, newVersion()));
      tags++;
    }
  }
  return { flush: false, commands: out, keys, tags, ignoredShapes: shapes, skipped };
}

/** A new version key value: random, so a version key that was evicted and re-created by the app never repeats an old one. */
export function randomVersion(): string {
  return `${Date.now().toString(36)}.${randomBytes(6).toString('hex')}`;
}

/**
 * Whether a reply confirms its command. SERVER_ERROR (out of memory, busy) is worth retrying;
 * ERROR / CLIENT_ERROR mean the command is wrong for this server, which retrying cannot mend.
 */
export function checkReply(address: string, command: Command, reply: Reply): void {
  const ok = command.line.startsWith('delete ') ? reply === 'DELETED' || reply === 'NOT_FOUND' : command.line.startsWith('set ') ? reply === 'STORED' : reply === 'OK';
  if (ok) return;
  const what = `memcached ${address} answered ${JSON.stringify(typeof reply === 'string' ? reply : 'values')} to ${JSON.stringify(command.line.slice(0, 120))}`;
  if (typeof reply === 'string' && reply.startsWith('SERVER_ERROR')) {
    throw new EvictdError('MEMCACHED_UNAVAILABLE', what, { retriable: true, context: { server: address } });
  }
  throw new EvictdError('MEMCACHED_ERROR', `${what}: is this a memcached server? (check the target's servers)`, { context: { server: address } });
}

/** Registered once per registry and labelled by target, so several memcached targets share them. */
function metricsFor(registry: Registry) {
  const counter = (c: { name: string; help: string }) => (registry.getSingleMetric(c.name) as Counter<'target'> | undefined) ?? new Counter({ ...c, labelNames: ['target'], registers: [registry] });
  const gauge = (g: { name: string; help: string }) => (registry.getSingleMetric(g.name) as Gauge<'target' | 'server'> | undefined) ?? new Gauge({ ...g, labelNames: ['target', 'server'], registers: [registry] });
  return {
    flushes: counter({ name: 'evictd_memcached_flush_all_total', help: 'flush_all sent to every server of a memcached target for table-wide invalidations (TRUNCATE, lost-slot flush, a template value the event lacks)' }),
    ignored: counter({ name: 'evictd_memcached_table_wide_ignored_total', help: 'Table-wide invalidations a memcached target with tableWide: ignore did not apply (entries stay until their TTL)' }),
    skipped: counter({ name: 'evictd_memcached_skipped_keys_total', help: 'Keys memcached cannot store (too long, spaces, control characters), so none can be stale: not sent' }),
    serverUp: gauge({ name: 'evictd_memcached_server_up', help: '1 while a memcached server of a target answers, 0 while it is down' }),
  };
}

interface Server {
  readonly connection: MemcachedConnection;
  outage: (TargetOutage & { loggedAt: number }) | null;
  busy: number;
}

export async function createMemcachedTarget(settings: MemcachedTargetSettings, name: string, ctx: TargetContext): Promise<Target> {
  const problem = memcachedTagProblem(name, settings, ctx.config);
  if (problem) throw new EvictdError('CONFIG_MEMCACHED_TAGS', problem, { context: { target: name } });
  const logger: Logger = ctx.logger; // already a child naming the target
  const metrics = metricsFor(ctx.registry);
  const labels = { target: name };
  const servers: Server[] = settings.servers.map((address) => ({ connection: new MemcachedConnection(address, settings.timeoutMs), outage: null, busy: 0 }));
  let skippedLoggedAt = 0;

  const markDown = (server: Server, err: unknown) => {
    const now = Date.now();
    const address = server.connection.address;
    server.outage ??= { since: now, error: describeError(err), loggedAt: 0 };
    metrics.serverUp.set({ ...labels, server: address }, 0);
    if (now - server.outage.loggedAt >= REPEAT_LOG_MS) {
      server.outage.loggedAt = now;
      logger.warn({ server: address, err: describeError(err), downForMs: now - server.outage.since }, 'memcached server down; retrying, nothing is committed until every server confirmed');
    }
  };
  const markUp = (server: Server) => {
    metrics.serverUp.set({ ...labels, server: server.connection.address }, 1);
    if (!server.outage) return;
    logger.info({ server: server.connection.address, downForMs: Date.now() - server.outage.since }, 'memcached server is back');
    server.outage = null;
  };
  for (const server of servers) server.connection.onLost = (err) => markDown(server, err);

  /** Sends `cmds` to one server in slices, resuming after the last confirmed slice on each retry. */
  const sendAll = async (server: Server, cmds: readonly Command[], apply: ApplyContext): Promise<number> => {
    let done = 0;
    let requests = 0;
    server.busy++;
    try {
      await retry(
        async () => {
          while (done < cmds.length) {
            const slice = cmds.slice(done, done + PIPELINE_COMMANDS);
            const replies = await server.connection.request(slice);
            requests++;
            slice.forEach((cmd, i) => checkReply(server.connection.address, cmd, replies[i]!));
            done += slice.length;
            if (done < cmds.length) apply.onProgress();
          }
        },
        {
          signal: apply.signal,
          minDelayMs: 50,
          maxDelayMs: 2_000,
          onRetry: (err) => {
            markDown(server, err);
            apply.onRetry(err);
          },
        },
      );
    } finally {
      server.busy--;
    }
    markUp(server);
    return requests;
  };

  // Servers not answering yet are no reason to refuse the start: apply waits for them.
  await Promise.all(
    servers.map(async (server) => {
      try {
        const [reply] = await server.connection.request([commands.version()]);
        markUp(server);
        logger.info({ server: server.connection.address, version: reply }, 'memcached server answers');
      } catch (err) {
        markDown(server, err);
      }
    }),
  );
  const probe = setInterval(() => {
    for (const server of servers) {
      if (server.busy > 0) continue;
      server.connection.request([commands.version()]).then(() => markUp(server), (err: unknown) => markDown(server, err));
    }
  }, PROBE_INTERVAL_MS);
  probe.unref();

  return {
    name,
    type: 'memcached',
    async apply(batch: BatchInvalidation, apply: ApplyContext): Promise<ApplyOutcome> {
      const plan = planBatch(batch, settings, randomVersion);
      if (plan.flush) {
        logger.warn({ keyShapes: batch.keyShapes, tagShapes: batch.tagShapes, servers: settings.servers }, 'table-wide invalidation: flush_all on every memcached server (memcached cannot list keys; tableWide: ignore turns this off)');
      } else if (plan.ignoredShapes.length > 0) {
        metrics.ignored.inc(labels);
        logger.warn({ shapes: plan.ignoredShapes }, 'table-wide invalidation NOT applied (tableWide: ignore): entries of these shapes stay cached until their TTL');
      }
      if (plan.skipped.length > 0) {
        metrics.skipped.inc(labels, plan.skipped.length);
        const now = Date.now();
        if (now - skippedLoggedAt >= REPEAT_LOG_MS) {
          skippedLoggedAt = now;
          logger.warn({ examples: plan.skipped.slice(0, 3), count: plan.skipped.length }, 'keys memcached cannot store were skipped (none of them can be cached)');
        }
      }
      const requests = await Promise.all(servers.map((server) => sendAll(server, plan.commands, apply)));
      if (plan.flush) metrics.flushes.inc(labels);
      return { items: plan.flush ? 1 : plan.keys + plan.tags, requests: requests.reduce((a, b) => a + b, 0) };
    },
    down(): TargetOutage | null {
      const first = servers.map((s) => s.outage).filter((o) => o !== null).sort((a, b) => a.since - b.since)[0];
      if (!first) return null;
      const failing = servers.filter((s) => s.outage).map((s) => s.connection.address);
      return { since: first.since, error: `${failing.join(', ')}: ${first.error}` };
    },
    detail: () => ({
      servers: servers.map((s) => ({ server: s.connection.address, up: s.outage === null, ...(s.outage ? { downForMs: Date.now() - s.outage.since, error: s.outage.error } : {}) })),
      tags: settings.tags,
      tableWide: settings.tableWide,
    }),
    async stop() {
      clearInterval(probe);
      for (const server of servers) server.connection.close();
    },
  };
}
