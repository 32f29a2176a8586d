/**
 * Scenario target-http (issue #15): the HTTP purge target in front of a real Varnish.
 *
 * evictd publish and evictd invalidate (an `edge` target only, preset varnish-xkey) against the
 * local stack; Varnish (the VCL evictd ships, vmod xkey) caches an origin of the bench's own. A
 * pass-through proxy in this process sits between evictd and Varnish and records when Varnish
 * answered each purge and for which keys: that answer is what the target waits for before the
 * group commits, so commit -> purge latency is measured to it (the proxy adds one loopback hop).
 *
 * - Latency: single-row UPDATEs at a paced rate; commit (clock_timestamp()) -> Varnish's 200 for
 *   the purge carrying that row's key, p50 / p99.
 * - Throughput: bulk UPDATEs of N rows; purges/s = N / (first commit -> last key confirmed).
 * - For scale, the same invalidator also runs a Redis target (its own consumer group): evictd's
 *   commit -> confirmed histogram of both targets over the paced run (bucket upper bounds), so
 *   the HTTP figure can be read against Redis's under the same load.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { freePort, startVarnish } from '@evictd/infra';
import { evictdProcess, pipelineConfig, REPO_ROOT, waitWhileAlive } from './evictd.js';
import { LandingLog, matchLandings } from './landing.js';
import type { TargetBenchOptions } from './target-bench.js';
import { bucketQuantile, histogramDelta, parseHistogram, scrape } from './metrics.js';
import { round, summarize, type LatencySummary } from './stats.js';
import { benchTable, bulkUpdates, createTable, pacedUpdates, wallNow } from './workload.js';

const PURGE_VCL = join(REPO_ROOT, 'services/invalidator/src/targets/http/evictd-purge.vcl');

export interface HttpTargetBenchResults {
  scenario: 'target-http';
  when: string;
  preset: 'varnish-xkey';
  loadAverage: { before: number[]; after: number[] };
  latency: { offeredPerSec: number; achievedPerSec: number; unmatched: number; ms: LatencySummary };
  /** evictd_invalidate_commit_to_delete_seconds over the paced run, per target: bucket upper bounds in ms. */
  histogramMs: Record<'redis' | 'edge', { p50: number; p99: number; count: number }>;
  throughput: { rows: number; seconds: number; purgesPerSec: number; purgeRequests: number; keysPerRequest: number };
}

export async function runHttpTargetBench(o: TargetBenchOptions): Promise<HttpTargetBenchResults> {
  const name = `bhttp${Date.now().toString(36)}`;
  const table = benchTable(`public.${name}`, `${name}:`);
  const rows = Math.max(o.bulkRows, Math.ceil(o.ratePerSec * o.seconds));
  await createTable(o.pool, table, rows);

  const origin: Server = createServer((req, res) => {
    const id = /^\/r\/(\d+)$/.exec(req.url ?? '')?.[1];
    if (!id) return void res.writeHead(404).end();
    res.writeHead(200, { 'Cache-Control': 'max-age=3600', xkey: table.key(Number(id)) }).end('x');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const varnish = await startVarnish({
    vcl: `vcl 4.1;\ninclude "${PURGE_VCL}";\nbackend default { .host = "127.0.0.1"; .port = "${(origin.address() as AddressInfo).port}"; }\n`,
    memoryMb: 128,
  });

  // Pass-through proxy: forwards each purge to Varnish and records its keys at Varnish's answer.
  const confirmed = new LandingLog();
  let purgeRequests = 0;
  const proxy: Server = createServer((req, res) => {
    const upstream = request({ host: '127.0.0.1', port: varnish.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      up.resume();
      up.on('end', () => {
        const at = wallNow();
        if (up.statusCode === 200) {
          purgeRequests += 1;
          for (const key of String(req.headers['xkey-purge'] ?? '').split(' ')) if (key) confirmed.record(key, at);
        }
        res.writeHead(up.statusCode ?? 502).end();
      });
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  const tables = { [table.name]: { keys: [`${name}:{id}`] } };
  const base = (port: number) => ({ ...pipelineConfig({ env: o.env, name, httpPort: port, tables, publish: { lingerMs: 1 } }), targets: { redis: { type: 'redis' }, edge: { type: 'http', preset: 'varnish-xkey', baseUrl: proxyUrl } } });
  const publisher = evictdProcess({ command: 'publish', config: base(await freePort()), dir: join(o.dir, 'http-publish'), runtime: o.runtime, node: o.node, env: {} });
  const invalidator = evictdProcess({ command: 'invalidate', config: base(await freePort()), dir: join(o.dir, 'http-invalidate'), runtime: o.runtime, node: o.node, env: {} });
  const before = loadavg();
  try {
    await publisher.start(120_000);
    await invalidator.start(120_000);
    const waitConfirmed = (keys: readonly string[], what: string) =>
      waitWhileAlive(`target-http: ${what}`, () => keys.every((k) => confirmed.map.has(k)), 120_000, [publisher, invalidator]).catch((err: Error) => {
        throw new Error(`${err.message}: ${keys.filter((k) => !confirmed.map.has(k)).length} keys never purged (see ${invalidator.logFile})`);
      });
    // Warm-up: the first purge opens the connections and the group's first fetch.
    await pacedUpdates(o.pool, table, [1], 1, 1);
    await waitConfirmed([table.key(1)], 'warm-up');

    o.log(`target-http: ${o.ratePerSec} single-row updates/s for ${o.seconds} s`);
    const ids = Array.from({ length: Math.ceil(o.ratePerSec * o.seconds) }, (_, i) => i + 1);
    const histogramsBefore = await scrape(invalidator.metricsUrl);
    const paced = await pacedUpdates(o.pool, table, ids, o.ratePerSec, 8);
    await waitConfirmed(paced.commits.map((c) => c.key), 'paced run');
    // The Redis target commits on its own; wait until its histogram has counted the run as well.
    const LAG = 'evictd_invalidate_commit_to_delete_seconds';
    const targetHistogram = (text: string, target: string) => parseHistogram(text.split('\n').filter((l) => !l.startsWith(LAG) || l.includes(`target="${target}"`)).join('\n'), LAG);
    let histogramsAfter = await scrape(invalidator.metricsUrl);
    for (let waited = 0; (targetHistogram(histogramsAfter, 'redis')?.count ?? 0) - (targetHistogram(histogramsBefore, 'redis')?.count ?? 0) < ids.length && waited < 30_000; waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
      histogramsAfter = await scrape(invalidator.metricsUrl);
    }
    const histogramMs = Object.fromEntries(
      (['redis', 'edge'] as const).map((target) => {
        const h = histogramDelta(targetHistogram(histogramsBefore, target), targetHistogram(histogramsAfter, target) ?? { buckets: [], sum: 0, count: 0 });
        return [target, { p50: bucketQuantile(h, 0.5) * 1000, p99: bucketQuantile(h, 0.99) * 1000, count: h.count }];
      }),
    ) as HttpTargetBenchResults['histogramMs'];
    const match = matchLandings(paced.commits, confirmed.map);

    o.log(`target-http: bulk update of ${o.bulkRows} rows`);
    const requestsBefore = purgeRequests;
    const start = wallNow();
    await bulkUpdates(o.pool, table, 1, o.bulkRows, 100, 4);
    const keys = Array.from({ length: o.bulkRows }, (_, i) => table.key(i + 1));
    const deadline = Date.now() + 300_000;
    // Each key's last confirmation after the bulk started.
    let last = 0;
    for (;;) {
      const snap = confirmed.map;
      const latest = keys.map((k) => snap.get(k)?.at(-1) ?? 0);
      if (latest.every((t) => t >= start)) {
        last = Math.max(...latest);
        break;
      }
      if (Date.now() > deadline) throw new Error(`target-http: bulk run not purged within 300 s (see ${invalidator.logFile})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (last - start) / 1000;
    const bulkRequests = purgeRequests - requestsBefore;
    return {
      scenario: 'target-http',
      when: new Date().toISOString(),
      preset: 'varnish-xkey',
      loadAverage: { before: before.map(round), after: loadavg().map(round) },
      latency: { offeredPerSec: o.ratePerSec, achievedPerSec: round(paced.achievedPerSec), unmatched: match.unmatched, ms: summarize(match.latencies) },
      histogramMs,
      throughput: { rows: o.bulkRows, seconds: round(seconds), purgesPerSec: Math.round(o.bulkRows / seconds), purgeRequests: bulkRequests, keysPerRequest: round(o.bulkRows / Math.max(1, bulkRequests)) },
    };
  } finally {
    await Promise.allSettled([invalidator.stop(), publisher.stop()]);
    proxy.close();
    await varnish.stop();
    origin.close();
    await o.pool.query(`DROP TABLE IF EXISTS ${table.name}`).catch(() => undefined);
  }
}

export function httpTargetReport(r: HttpTargetBenchResults): string {
  const l = r.latency.ms;
  return [
    `# HTTP purge target (Varnish, ${r.preset}) — ${r.when.slice(0, 10)}`,
    '',
    `Load average before/after: ${r.loadAverage.before.join(' ')} / ${r.loadAverage.after.join(' ')}`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| commit -> Varnish confirmed the purge, ${r.latency.offeredPerSec} single-row txns/s (achieved ${r.latency.achievedPerSec}) | p50 ${round(l.p50)} ms, p95 ${round(l.p95)} ms, p99 ${round(l.p99)} ms, max ${round(l.max)} ms (${l.count} changes, ${r.latency.unmatched} unmatched) |`,
    `| the same run from evictd's commit -> confirmed histogram (bucket upper bounds): HTTP target vs the Redis target beside it | edge p50 <= ${r.histogramMs.edge.p50} ms, p99 <= ${r.histogramMs.edge.p99} ms; redis p50 <= ${r.histogramMs.redis.p50} ms, p99 <= ${r.histogramMs.redis.p99} ms |`,
    `| bulk purge throughput, ${r.throughput.rows} rows in 100-row txns | ${r.throughput.purgesPerSec} keys purged/s (${r.throughput.purgeRequests} PURGE requests, ${r.throughput.keysPerRequest} keys each on average) |`,
    '',
  ].join('\n');
}
