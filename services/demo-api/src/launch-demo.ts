/**
 * `npm run demo`: the local stack (real Postgres, Kafka, Redis), the demo schema and seed,
 * `evictd run` with the demo rules, and the demo API; prints the page's URL. Ctrl-C stops all.
 * With DATABASE_URL, KAFKA_BROKERS and REDIS_URL all set, those servers are used instead.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSetup, externalStackEnv, PURPOSES, startStack } from '@evictd/infra';
import { DemoConfigError } from './config.js';
import type { RedisControl } from './instances.js';
import { startDemo } from './pipeline.js';
import { startVarnishTier } from './varnish-tier.js';

const say = (text: string) => process.stdout.write(`demo: ${text}\n`);
const stoppers: Array<() => Promise<unknown>> = [];
let stopping: Promise<void> | undefined;

/** Stops in reverse start order: the API and evictd (which flushes and acknowledges), then the servers. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const stop of [...stoppers].reverse()) await stop().catch((err: unknown) => say(`while stopping: ${String(err)}`));
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    say('stopping everything...');
    void stopAll().then(() => process.exit(0));
  });
}

const began = performance.now();
const elapsed = () => `${Math.round((performance.now() - began) / 1000)} s`;

async function main(): Promise<void> {
  let env = externalStackEnv();
  // Only with the local stack, which this launcher owns: the page's "stop Redis" button.
  let redisControl: RedisControl | undefined;
  // A fresh machine: system packages (apt as root on Debian/Ubuntu, else the command to run) and the Kafka jars.
  await ensureSetup({ ...PURPOSES.demo, stack: !env }, say);
  if (env) {
    say('using the servers in DATABASE_URL, KAFKA_BROKERS and REDIS_URL');
  } else {
    say('starting PostgreSQL, Kafka and Redis as local processes (5-10 s on a quiet machine, a minute or more on a busy one)...');
    const stack = await startStack({ handleSignals: false, onProgress: say });
    stoppers.push(() => stack.stop());
    env = stack.env;
    redisControl = stack.redis;
    say(`servers ready after ${elapsed()}`);
  }

  const demoDir = await mkdtemp(join(tmpdir(), 'evictd-demo-'));
  const evictdLog = join(demoDir, 'evictd.log');
  // Optional HTTP tier: Varnish in front of the API, purged by evictd next to Redis.
  const varnish = await startVarnishTier(demoDir);
  if (varnish) stoppers.push(() => varnish.stop());
  else say('varnishd is not installed: no Varnish tier (apt-get install varnish varnish-modules adds it)');
  const logStream = createWriteStream(evictdLog);
  stoppers.push(() => new Promise((resolve) => logStream.end(resolve)));
  say('applying infra/sql/demo-*.sql (the demo shop), then `evictd run` with services/demo-api/demo/evictd.yaml, then the demo API...');
  const demo = await startDemo({
    // The terminal shows this launcher's lines: the API logs only problems unless LOG_LEVEL says otherwise.
    env: { LOG_LEVEL: 'warn', ...process.env, ...env },
    onEvictdOutput: (line) => logStream.write(`${line}\n`),
    onProgress: say,
    secondInstance: true,
    ...(varnish ? { varnish } : {}),
    ...(redisControl ? { redisControl } : {}),
  });
  stoppers.push(() => demo.stop());
  say(`evictd run is healthy: pid ${demo.evictd.pid}, ${demo.evictd.url}/metrics, log ${evictdLog}`);
  if (demo.peer) say(`demo API instance B: pid ${demo.peer.pid}, ${demo.peer.url} (instance A below relays its L1 events to the page)`);
  if (varnish) say(`Varnish in front of the API: ${varnish.url}/products/1 (x-varnish-cache HIT/MISS; evictd purges it by xkey next to Redis; the page shows when)`);
  if (!demo.timelineReady) say('the live timeline is not reading change events: the API works, the page shows no timeline');
  process.stdout.write(`\nOpen ${demo.api.url}/   (ready after ${elapsed()})\n\n(Ctrl-C stops the demo and everything it started)\n`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`demo: could not start: ${err instanceof DemoConfigError || err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
