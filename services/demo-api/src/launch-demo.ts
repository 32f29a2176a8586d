/**
 * `npm run demo`: the local stack (real Postgres, Kafka, Redis), the demo schema and seed,
 * `evictd run` with the demo rules, and the demo API; prints the page's URL. Ctrl-C stops all.
 * With DATABASE_URL, KAFKA_BROKERS and REDIS_URL all set, those servers are used instead.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { externalStackEnv, startStack, type Stack } from '@evictd/infra';
import { DemoConfigError, parseDemoConfig, type DemoConfig } from './config.js';
import { applyDemoSchema, startEvictd, type EvictdChild } from './pipeline.js';
import { createDemoLogger, startDemoApi, type DemoApi } from './server.js';

const say = (text: string) => process.stdout.write(`demo: ${text}\n`);
const stoppers: Array<() => Promise<unknown>> = [];
let stopping: Promise<void> | undefined;

/** Stops in reverse start order: API, evictd (flushes and acknowledges), then the servers. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const stop of stoppers.reverse()) await stop().catch((err: unknown) => say(`while stopping: ${String(err)}`));
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    say('stopping everything...');
    void stopAll().then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  let env = externalStackEnv();
  const workDir = await mkdtemp(join(tmpdir(), 'evictd-demo-'));
  if (env) {
    say('using the servers in DATABASE_URL, KAFKA_BROKERS and REDIS_URL');
  } else {
    say('starting PostgreSQL, Kafka and Redis (first start takes ~20 s)...');
    const stack: Stack = await startStack({ handleSignals: false });
    stoppers.push(() => stack.stop());
    env = stack.env;
  }
  const names = { EVICTD_TOPIC_PREFIX: process.env.EVICTD_TOPIC_PREFIX ?? 'demo', EVICTD_KEY_PREFIX: process.env.EVICTD_KEY_PREFIX ?? '' };

  await applyDemoSchema(env.DATABASE_URL);
  say('demo schema and seed data applied (infra/sql/demo-*.sql)');

  const evictdLog = join(workDir, 'evictd.log');
  const logStream = createWriteStream(evictdLog);
  const evictd: EvictdChild = await startEvictd({ env: { ...env, ...names }, onOutput: (line) => logStream.write(`${line}\n`) });
  stoppers.push(async () => {
    await evictd.stop();
    logStream.end();
  });
  say(`evictd run is healthy (pid ${evictd.pid}, ${evictd.url}/metrics, log ${evictdLog})`);

  let config: DemoConfig;
  try {
    config = parseDemoConfig({ ...process.env, ...env, ...names });
  } catch (err) {
    throw err instanceof DemoConfigError ? new Error(err.message) : err;
  }
  const api = await startWithPortFallback(config);
  stoppers.push(() => api.close());
  await waitForTimeline(api);

  say(`evictd metrics: ${evictd.url}/metrics    demo API metrics: ${api.url}/metrics`);
  process.stdout.write(`\nOpen ${api.url}/\n\n(Ctrl-C stops the demo and everything it started)\n`);
}

/** PORT (default 8080), or any free port when that one is taken. */
async function startWithPortFallback(config: DemoConfig): Promise<DemoApi> {
  const logger = createDemoLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' });
  try {
    return await startDemoApi(config, logger);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    say(`port ${config.port} is busy: using a free port instead`);
    return startDemoApi({ ...config, port: 0 }, logger);
  }
}

/** The page's timeline needs the API's change consumer to be in place; the API serves before that. */
async function waitForTimeline(api: DemoApi): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { detail } = await api.health();
    const state = (detail.timeline as { changeFeed?: string } | undefined)?.changeFeed;
    if (state === 'ready') return;
    if (state === 'failed' || Date.now() > deadline) {
      say(`the live timeline is not reading change events (${String(state)}); the API works, the page shows no timeline`);
      return;
    }
    await sleep(100);
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`demo: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
