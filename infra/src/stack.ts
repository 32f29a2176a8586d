import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kafkaServer } from './kafka.js';
import { freePorts } from './ports.js';
import { postgresServer } from './postgres.js';
import { redisServer } from './redis.js';
import type { LocalService, ServerHandle, ServiceName } from './server.js';
import { track, untrack } from './teardown.js';

export const ALL_SERVICES: readonly ServiceName[] = ['postgres', 'kafka', 'redis'];

/** The variable each service's address is exported as. */
export interface EnvNames {
  postgres: 'DATABASE_URL';
  redis: 'REDIS_URL';
  kafka: 'KAFKA_BROKERS';
}
export const ENV_NAMES: EnvNames = { postgres: 'DATABASE_URL', kafka: 'KAFKA_BROKERS', redis: 'REDIS_URL' };

export type StackEnv<S extends ServiceName = ServiceName> = { readonly [K in S as EnvNames[K]]: string };

export interface StackOptions<S extends ServiceName> {
  /** Default: all three. */
  services?: readonly S[];
  /**
   * Where data, logs and configs live. Default: a new temp dir, deleted by stop() unless `keep`.
   * A given dir is never deleted; a stack started again in it reuses its data and ports.
   */
  dir?: string;
  /** Keep the data dir after stop(), and leave the servers running if the process ends without stop(). */
  keep?: boolean;
  /** Per server, from spawn to answering requests (default 90 s: the machine may be busy). */
  readyTimeoutMs?: number;
  /** Stop the stack on SIGINT/SIGTERM/SIGHUP, then exit (default true; the CLI and test runner do it themselves). */
  handleSignals?: boolean;
  /** Told when each server answers, and every 10 s which are still starting (for people watching a terminal). */
  onProgress?: (message: string) => void;
}

const PROGRESS_EVERY_MS = 10_000;

export type Stack<S extends ServiceName = ServiceName> = {
  readonly dir: string;
  /** DATABASE_URL (superuser `postgres`, database `app`), KAFKA_BROKERS, REDIS_URL. */
  readonly env: StackEnv<S>;
  /** Milliseconds each service took from setup (initdb, storage format) to answering requests. */
  readonly startMs: { readonly [K in S]: number };
  readonly servers: readonly ServerHandle[];
  /** Stops every server gracefully; removes a temp dir unless `keep`. Safe to call twice. */
  stop(): Promise<void>;
} & { readonly [K in S]: ServerHandle };

/** Ports are kept in the stack dir so a restarted stack (same dir) finds its servers' data valid. */
function stackPorts(dir: string): Promise<{ postgres: number; redis: number; kafka: number; kafkaController: number }> {
  const file = join(dir, 'ports.json');
  if (existsSync(file)) return Promise.resolve(JSON.parse(readFileSync(file, 'utf8')));
  return freePorts(4).then(([postgres, redis, kafka, kafkaController]) => {
    const ports = { postgres: postgres!, redis: redis!, kafka: kafka!, kafkaController: kafkaController! };
    writeFileSync(file, `${JSON.stringify(ports, null, 2)}\n`);
    return ports;
  });
}

/** Starts real PostgreSQL, Redis and Kafka on free loopback ports; resolves once each answers requests. */
export async function startStack<S extends ServiceName = ServiceName>(options: StackOptions<S> = {}): Promise<Stack<S>> {
  const names = (options.services ?? ALL_SERVICES) as readonly ServiceName[];
  const unknown = names.filter((n) => !ALL_SERVICES.includes(n));
  if (unknown.length) throw new Error(`unknown stack service(s) ${unknown.join(', ')}: choose from ${ALL_SERVICES.join(', ')}`);
  const backend = process.env.EVICTD_STACK ?? 'local';
  if (backend === 'testcontainers') {
    const { startContainerStack } = await import('./containers.js'); // loads Docker's client only when asked
    return startContainerStack(names as readonly S[], options);
  }
  if (backend !== 'local') throw new Error(`EVICTD_STACK=${backend}: use local (the default) or testcontainers`);
  const keep = options.keep ?? false;
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const ownDir = options.dir === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'evictd-stack-')) : resolve(options.dir!);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755); // the postgres OS user must reach its data dir inside

  let services: LocalService[];
  try {
    const ports = await stackPorts(dir);
    // Building a service checks its prerequisites: all are checked before anything is spawned.
    const factories: Record<ServiceName, () => LocalService> = {
      postgres: () => postgresServer(dir, ports.postgres, readyTimeoutMs),
      redis: () => redisServer(dir, ports.redis, readyTimeoutMs),
      kafka: () => kafkaServer(dir, ports.kafka, ports.kafkaController, readyTimeoutMs),
    };
    services = names.map((n) => factories[n]());
  } catch (err) {
    if (ownDir && !keep) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  let failed = false; // a failed start keeps its dir: the logs are what one needs next
  const removeDir = () => {
    if (ownDir && !keep && !failed) rmSync(dir, { recursive: true, force: true });
  };
  const teardown = {
    keep,
    stop: () =>
      (stopped ??= (async () => {
        await Promise.allSettled(services.map((s) => s.server.stop()));
        untrack(teardown);
        removeDir();
      })()),
    killSync: () => {
      for (const s of services) s.server.killSync();
      removeDir();
    },
    leftovers: () => ({
      pids: services.flatMap((s) => (s.server.pid === undefined ? [] : [s.server.pid])),
      dirs: ownDir && !keep ? [dir] : [],
    }),
  };
  track(teardown, options.handleSignals ?? true);

  const startMs: Partial<Record<ServiceName, number>> = {};
  const progress = options.onProgress;
  const began = performance.now();
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const ticker = progress
    ? setInterval(() => {
        const pending = services.map((s) => s.server.name).filter((n) => startMs[n] === undefined);
        progress(`still starting ${pending.join(', ')} (${seconds(performance.now() - began)} so far; Kafka's JVM takes longest, up to a minute on a busy machine)`);
      }, PROGRESS_EVERY_MS)
    : undefined;
  ticker?.unref();
  const results = await Promise.allSettled(
    services.map(async (s) => {
      const t0 = performance.now();
      await s.init();
      startMs[s.server.name] = Math.round(performance.now() - t0);
      progress?.(`${s.server.name} answers (after ${seconds(startMs[s.server.name]!)})`);
    }),
  ).finally(() => clearInterval(ticker));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length) {
    failed = true;
    await teardown.stop();
    const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
    throw new Error(`local stack did not start (logs kept in ${dir}):\n${messages.join('\n\n')}`, { cause: failures[0] });
  }

  const stack: Record<string, unknown> = {
    dir,
    env: Object.fromEntries(services.map((s) => [ENV_NAMES[s.server.name], s.address])),
    startMs,
    servers: services.map((s) => s.server),
    stop: teardown.stop,
  };
  for (const s of services) stack[s.server.name] = s.server;
  return stack as Stack<S>;
}
