// Shared by the demo tests (test/integration/demo-*.test.ts, test/browser/): the whole demo
// pipeline (schema + seed, `evictd run` as a child process, the demo API) isolated per test file.
// The demo's cache keys are fixed (product:{id}), so each file gets its own database, Redis
// database index, topic prefix, key prefix, slot, publication and consumer group.
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startDemo, type RunningDemo, type StartDemoOptions } from '../../services/demo-api/src/index.js';
import { dropSlot, stackEnv, uniqueName } from '../support/index.js';

export interface DemoUnderTest {
  demo: RunningDemo;
  /** Topic prefix, key prefix, slot, publication, group and database name of this file. */
  ns: string;
  /** The API's base URL. */
  url: string;
  /** The demo database, for changes made "by another app" in the test itself. */
  databaseUrl: string;
  /** Stops the API and evictd, then drops the slot, database, topics and keys. */
  cleanup(): Promise<void>;
}

export interface DemoEnvironment {
  ns: string;
  databaseUrl: string;
  /** What the demo (startDemo, or `npm run demo`) is given: its own database, Redis db and names. */
  env: Record<string, string>;
  /** Drops the slot, database, topics and keys (stop the demo first). */
  cleanup(): Promise<void>;
}

/** A database, Redis database index and names of its own for one demo; `redisDb` must be unique to the calling test file. */
export async function demoEnvironment(prefix: string, redisDb: number): Promise<DemoEnvironment> {
  const env = stackEnv();
  const ns = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${ns}`);
  const databaseUrl = withPath(env.DATABASE_URL, `/${ns}`);
  const redisUrl = withPath(env.REDIS_URL, `/${redisDb}`);
  const redis = new Redis(redisUrl);
  const dropDemoKeys = async () => {
    for (const pattern of ['product:*', 'category:*', `${ns}:*`]) {
      const keys = await redis.keys(pattern);
      if (keys.length > 0) await redis.unlink(...keys);
    }
  };
  // A previous run against the same servers may have left the demo's (unprefixed) keys behind.
  await dropDemoKeys();

  const cleanup = async () => {
    await dropSlot(admin, ns);
    await admin.query(`DROP DATABASE IF EXISTS ${ns} WITH (FORCE)`);
    await admin.end();
    await dropDemoKeys();
    await redis.quit();
    const kafka = new Kafka({ clientId: 'demo-test-cleanup', brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const topics = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(`${ns}.`));
    if (topics.length > 0) await kafkaAdmin.deleteTopics({ topics });
    await kafkaAdmin.disconnect();
  };
  return {
    ns,
    databaseUrl,
    env: {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      EVICTD_TOPIC_PREFIX: ns,
      EVICTD_KEY_PREFIX: `${ns}:`,
      EVICTD_SLOT: ns,
      EVICTD_PUBLICATION: ns,
      EVICTD_GROUP_ID: ns,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.DEMO_TEST_LOG ?? 'warn',
    },
    cleanup,
  };
}

export interface DemoUnderTestOptions extends Pick<StartDemoOptions, 'secondInstance' | 'redisControl'> {
  /** A Redis of the test's own (e.g. one it stops), instead of the stack's. */
  redisUrl?: string;
}

/** Starts the demo on the test stack; `redisDb` must be unique to the calling test file. */
export async function startDemoUnderTest(prefix: string, redisDb: number, options: DemoUnderTestOptions = {}): Promise<DemoUnderTest> {
  const isolated = await demoEnvironment(prefix, redisDb);
  if (options.redisUrl) isolated.env.REDIS_URL = options.redisUrl;
  let demo: RunningDemo | undefined;
  const cleanup = async () => {
    await demo?.stop();
    await isolated.cleanup();
  };
  try {
    demo = await startDemo({
      env: { ...process.env, ...isolated.env },
      ...(options.secondInstance ? { secondInstance: true } : {}),
      ...(options.redisControl ? { redisControl: options.redisControl } : {}),
    });
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
  if (!demo.timelineReady) {
    await cleanup();
    throw new Error('the demo API did not start reading change events (see its log above)');
  }
  return { demo, ns: isolated.ns, url: demo.api.url, databaseUrl: isolated.databaseUrl, cleanup };
}

function withPath(raw: string, path: string): string {
  const url = new URL(raw);
  url.pathname = path;
  return url.toString();
}

export interface ApiResponse<T = unknown> {
  status: number;
  cache: string | null;
  body: T;
}

export async function call<T = unknown>(url: string, init: RequestInit = {}): Promise<ApiResponse<T>> {
  const res = await fetch(url, init);
  return { status: res.status, cache: res.headers.get('x-cache'), body: (await res.json()) as T };
}
