/**
 * Scenario l1 (issue #12): what the in-process L1 tier costs and how fast it follows Redis.
 *
 * - Hit latency: getOrLoad of one primed key answered by L1, against the same call answered by a
 *   Redis GET (a cache without L1), sequential calls, p50 / p99.
 * - Drop latency: N app instances (separate processes, bench/src/l1-instance.ts) hold a key in
 *   their L1; the bench invalidates it exactly as the invalidator does (invalidate.lua); the time
 *   from just before that call to the last instance's `l1-drop` event, p50 / p99 over the runs,
 *   for 2 and 8 instances. Same machine, same clock (performance.timeOrigin + now()).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createCache, createKeyRegistry, createRedisLayout, invalidateKeysAndTags } from '@evictd/cache';
import type { L1BenchResults } from './results.js';
import { round, summarize } from './stats.js';

const INSTANCE = fileURLToPath(new URL('./l1-instance.ts', import.meta.url));
const now = () => performance.timeOrigin + performance.now();

/** One l1-instance.ts process, driven line by line (the bench and test/integration/cache-l1.test.ts). */
export interface L1Instance {
  child: ChildProcess;
  /** Resolves once the instance's L1 is tracking. */
  ready: Promise<string>;
  send(line: string): void;
  next(match: (line: string) => boolean, what: string): Promise<string>;
}

export function startL1Instance(redisUrl: string, prefix: string, cwd: string): L1Instance {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', INSTANCE], {
    cwd,
    env: { ...process.env, REDIS_URL: redisUrl, L1_LAYOUT_PREFIX: prefix },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let exited = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w();
  });
  child.once('exit', () => {
    exited = true;
    for (const w of waiters) w();
  });
  const instance: Omit<L1Instance, 'ready'> = {
    child,
    send: (line) => child.stdin!.write(`${line}\n`),
    next: (match, what) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`l1 instance ${child.pid}: no "${what}" within 60 s`)), 60_000);
        const check = () => {
          const i = lines.findIndex(match);
          if (i >= 0) return done(undefined, lines.splice(i, 1)[0]);
          if (exited) done(new Error(`l1 instance ${child.pid} exited before "${what}"`));
        };
        const done = (err?: Error, line?: string) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(line!);
        };
        waiters.add(check);
        check();
      }),
  };
  return { ...instance, ready: instance.next((l) => l === 'ready', 'ready') };
}

function quantiles(ms: number[]): { p50: number; p99: number; max: number } {
  const s = summarize(ms);
  return { p50: round(s.p50), p99: round(s.p99), max: round(s.max) };
}

export async function runL1Bench(opts: { redisUrl: string; repoRoot: string; hitCalls: number; dropRuns: number; instanceCounts: number[]; log: (m: string) => void }): Promise<L1BenchResults> {
  const startedAt = new Date().toISOString();
  const redis = new Redis(opts.redisUrl);
  const prefix = `bench_l1_${process.pid}:`;
  const layout = createRedisLayout({ keyPrefix: prefix });
  const registry = createKeyRegistry({});
  const children: L1Instance[] = [];
  try {
    opts.log(`l1: hit latency, ${opts.hitCalls} calls each tier`);
    const withL1 = createCache({ redis, layout, registry, l1: { ttlMs: 600_000 } });
    const plain = createCache({ redis, layout, registry });
    await withL1.l1!.whenTracking(30_000);
    const key = `${prefix}app:hit`;
    const load = () => 'x'.repeat(200);
    for (let i = 0; i < 50 && !withL1.l1!.entries().some(([k]) => k === key); i++) await withL1.getOrLoad(key, load, { ttlMs: 600_000 });
    const time = async (cache: typeof plain) => {
      const ms: number[] = [];
      for (let i = 0; i < opts.hitCalls; i++) {
        const t = performance.now();
        await cache.getOrLoad(key, load);
        ms.push(performance.now() - t);
      }
      return ms;
    };
    await time(plain); // warm-up of both paths
    await time(withL1);
    const l1Ms = await time(withL1);
    const redisMs = await time(plain);
    if (withL1.stats().hits > 2 || plain.stats().l1Hits > 0) opts.log(`l1: warning: ${withL1.stats().hits} Redis hits on the L1 cache`);
    await withL1.close();
    const hit = { calls: opts.hitCalls, l1: quantiles(l1Ms), redis: quantiles(redisMs) };
    opts.log(`l1: L1 hit p50 ${hit.l1.p50} ms p99 ${hit.l1.p99} ms; Redis GET hit p50 ${hit.redis.p50} ms p99 ${hit.redis.p99} ms`);

    const drop: L1BenchResults['drop'] = [];
    for (const count of opts.instanceCounts) {
      while (children.length < count) children.push(startL1Instance(opts.redisUrl, prefix, opts.repoRoot));
      const group = children.slice(0, count);
      await Promise.all(group.map((c) => c.ready));
      const ms: number[] = [];
      for (let run = 0; run < opts.dropRuns; run++) {
        const k = `${prefix}app:drop:${count}:${run}`;
        for (const c of group) c.send(`prime ${k}`);
        await Promise.all(group.map((c) => c.next((l) => l === `primed ${k}`, `primed ${k}`)));
        const drops = group.map((c) => c.next((l) => l.startsWith(`drop ${k} `), `drop ${k}`));
        const t0 = now();
        await invalidateKeysAndTags(redis, { keys: [k], tags: [] }, layout);
        const at = (await Promise.all(drops)).map((l) => Number(l.split(' ')[2]));
        ms.push(Math.max(...at) - t0);
      }
      drop.push({ instances: count, runs: ms.length, ...quantiles(ms) });
      opts.log(`l1: ${count} instances: invalidation -> last L1 drop p50 ${drop.at(-1)!.p50} ms p99 ${drop.at(-1)!.p99} ms`);
    }
    return { startedAt, hit, drop };
  } finally {
    // stdin closing ends an instance; kill() covers one that hangs.
    for (const c of children) c.child.stdin?.end();
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.child.exitCode !== null || c.child.signalCode !== null) return resolve();
      const timer = setTimeout(() => c.child.kill('SIGKILL'), 5_000);
      c.child.once('exit', () => (clearTimeout(timer), resolve()));
    })));
    redis.disconnect();
  }
}
