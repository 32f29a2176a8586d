/**
 * Scenario target-memcached (issue #15): the Memcached target against a real memcached.
 *
 * evictd publish and evictd invalidate (an `mc` target only) against the local stack and a
 * memcached of the bench's own. A pass-through TCP proxy in this process sits between evictd and
 * memcached, reads the text protocol both ways and records, for each `delete <key>`, when
 * memcached's reply to it came back: that reply is what the target waits for before the group
 * commits, so commit -> purge latency is measured to it (the proxy adds one loopback hop).
 *
 * - Latency: single-row UPDATEs at a paced rate; commit (clock_timestamp()) -> memcached's reply
 *   to the delete of that row's key, p50 / p99.
 * - Throughput: bulk UPDATEs of N rows; purges/s = N / (first commit -> last key confirmed).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { freePort, startMemcached } from '@evictd/infra';
import { evictdProcess, pipelineConfig, waitWhileAlive } from './evictd.js';
import { LandingLog, matchLandings } from './landing.js';
import type { TargetBenchOptions } from './target-bench.js';
import { round, summarize, type LatencySummary } from './stats.js';
import { benchTable, bulkUpdates, createTable, pacedUpdates, wallNow } from './workload.js';

export interface MemcachedTargetBenchResults {
  scenario: 'target-memcached';
  when: string;
  loadAverage: { before: number[]; after: number[] };
  latency: { offeredPerSec: number; achievedPerSec: number; unmatched: number; ms: LatencySummary };
  throughput: { rows: number; seconds: number; purgesPerSec: number; pipelines: number; keysPerPipeline: number };
}

/**
 * One proxied connection: commands from evictd are queued in order (the key of each `delete`,
 * null for anything else; a `set`'s data block is skipped), and each reply line from memcached
 * pops one. Only line replies are expected: the target never sends `get`.
 */
function proxyConnection(client: Socket, upstreamPort: number, confirmed: LandingLog, counters: { pipelines: number }): void {
  const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const queue: (string | null)[] = [];
  let head = 0;
  let fromClient = '';
  let skip = 0; // bytes of a set's data block (and its \r\n) still to pass
  let fromServer = '';
  client.on('data', (chunk: Buffer) => {
    upstream.write(chunk);
    counters.pipelines += 1;
    fromClient += chunk.toString('latin1');
    let pos = 0;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, fromClient.length - pos);
        skip -= n;
        pos += n;
        if (skip > 0) break;
      }
      const end = fromClient.indexOf('\r\n', pos);
      if (end < 0) break;
      const [verb, key, , , bytes] = fromClient.slice(pos, end).split(' ');
      pos = end + 2;
      queue.push(verb === 'delete' ? (key ?? null) : null);
      if (verb === 'set') skip = Number(bytes) + 2;
    }
    fromClient = fromClient.slice(pos);
  });
  upstream.on('data', (chunk: Buffer) => {
    client.write(chunk);
    const at = wallNow();
    fromServer += chunk.toString('latin1');
    let pos = 0;
    for (let end = fromServer.indexOf('\r\n', pos); end >= 0; end = fromServer.indexOf('\r\n', pos)) {
      const reply = fromServer.slice(pos, end);
      pos = end + 2;
      const key = queue[head++];
      if (head > 4096) {
        queue.splice(0, head);
        head = 0;
      }
      if (key && (reply === 'DELETED' || reply === 'NOT_FOUND')) confirmed.record(key, at);
    }
    fromServer = fromServer.slice(pos);
  });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('close', close).on('error', close);
  upstream.on('close', close).on('error', close);
}

export async function runMemcachedTargetBench(o: TargetBenchOptions): Promise<MemcachedTargetBenchResults> {
  const name = `bmc${Date.now().toString(36)}`;
  const table = benchTable(`public.${name}`, `${name}:`);
  const rows = Math.max(o.bulkRows, Math.ceil(o.ratePerSec * o.seconds));
  await createTable(o.pool, table, rows);
  const memcached = await startMemcached({ memoryMb: 128 });
  const confirmed = new LandingLog();
  const counters = { pipelines: 0 };
  const proxy: Server = createServer((client) => proxyConnection(client, memcached.port, confirmed, counters));
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyAddress = `127.0.0.1:${(proxy.address() as { port: number }).port}`;

  const tables = { [table.name]: { keys: [`${name}:{id}`] } };
  const base = (port: number) => ({ ...pipelineConfig({ env: o.env, name, httpPort: port, tables, publish: { lingerMs: 1 } }), targets: { mc: { type: 'memcached', servers: [proxyAddress] } } });
  const publisher = evictdProcess({ command: 'publish', config: base(await freePort()), dir: join(o.dir, 'mc-publish'), runtime: o.runtime, node: o.node, env: {} });
  const invalidator = evictdProcess({ command: 'invalidate', config: base(await freePort()), dir: join(o.dir, 'mc-invalidate'), runtime: o.runtime, node: o.node, env: {} });
  const before = loadavg();
  try {
    await publisher.start(120_000);
    await invalidator.start(120_000);
    const latest = (keys: readonly string[]) => keys.map((k) => confirmed.map.get(k)?.at(-1) ?? 0);
    const waitConfirmed = async (keys: readonly string[], since: number, what: string): Promise<number> => {
      await waitWhileAlive(`target-memcached: ${what}`, () => latest(keys).every((t) => t >= since), 300_000, [publisher, invalidator]).catch((err: Error) => {
        throw new Error(`${err.message}: ${latest(keys).filter((t) => t < since).length} keys never deleted (see ${invalidator.logFile})`);
      });
      return Math.max(...latest(keys));
    };
    // Warm-up: the first delete opens the connection and the group's first fetch.
    const warm = wallNow();
    await pacedUpdates(o.pool, table, [1], 1, 1);
    await waitConfirmed([table.key(1)], warm, 'warm-up');

    o.log(`target-memcached: ${o.ratePerSec} single-row updates/s for ${o.seconds} s`);
    const ids = Array.from({ length: Math.ceil(o.ratePerSec * o.seconds) }, (_, i) => i + 1);
    const pacedStart = wallNow();
    const paced = await pacedUpdates(o.pool, table, ids, o.ratePerSec, 8);
    await waitConfirmed(paced.commits.map((c) => c.key), pacedStart, 'paced run');
    const match = matchLandings(paced.commits, confirmed.map);

    o.log(`target-memcached: bulk update of ${o.bulkRows} rows`);
    const pipelinesBefore = counters.pipelines;
    const start = wallNow();
    await bulkUpdates(o.pool, table, 1, o.bulkRows, 100, 4);
    const last = await waitConfirmed(Array.from({ length: o.bulkRows }, (_, i) => table.key(i + 1)), start, 'bulk run');
    const seconds = (last - start) / 1000;
    const pipelines = counters.pipelines - pipelinesBefore;
    return {
      scenario: 'target-memcached',
      when: new Date().toISOString(),
      loadAverage: { before: before.map(round), after: loadavg().map(round) },
      latency: { offeredPerSec: o.ratePerSec, achievedPerSec: round(paced.achievedPerSec), unmatched: match.unmatched, ms: summarize(match.latencies) },
      throughput: { rows: o.bulkRows, seconds: round(seconds), purgesPerSec: Math.round(o.bulkRows / seconds), pipelines, keysPerPipeline: round(o.bulkRows / Math.max(1, pipelines)) },
    };
  } finally {
    await Promise.allSettled([invalidator.stop(), publisher.stop()]);
    proxy.close();
    await memcached.stop();
    await o.pool.query(`DROP TABLE IF EXISTS ${table.name}`).catch(() => undefined);
  }
}

export function memcachedTargetReport(r: MemcachedTargetBenchResults): string {
  const l = r.latency.ms;
  return [
    `# Memcached target — ${r.when.slice(0, 10)}`,
    '',
    `Load average before/after: ${r.loadAverage.before.join(' ')} / ${r.loadAverage.after.join(' ')}`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| commit -> memcached confirmed the delete, ${r.latency.offeredPerSec} single-row txns/s (achieved ${r.latency.achievedPerSec}) | p50 ${round(l.p50)} ms, p95 ${round(l.p95)} ms, p99 ${round(l.p99)} ms, max ${round(l.max)} ms (${l.count} changes, ${r.latency.unmatched} unmatched) |`,
    `| bulk delete throughput, ${r.throughput.rows} rows in 100-row txns | ${r.throughput.purgesPerSec} keys deleted/s (${r.throughput.pipelines} pipelined writes, ${r.throughput.keysPerPipeline} keys each on average) |`,
    '',
  ].join('\n');
}
