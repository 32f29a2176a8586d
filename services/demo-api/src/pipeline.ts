/**
 * The parts around the demo API that `npm run demo` and the end-to-end tests share: the demo schema
 * and seed, and `evictd run` as a child process with the demo rules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '@evictd/infra';
import { DEMO_RULES_FILE, parseDemoConfig } from './config.js';
import type { RedisControl } from './instances.js';
import { createDemoLogger, startDemoApi, type DemoApi } from './server.js';
import type { VarnishTier } from './varnish-tier.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SQL_FILES = ['demo-schema.sql', 'demo-seed.sql'].map((f) => fileURLToPath(new URL(`../../../infra/sql/${f}`, import.meta.url)));
const EVICTD_CLI = fileURLToPath(new URL('../../invalidator/src/cli.ts', import.meta.url));
const EXIT_WITH_PARENT = new URL('./exit-with-parent.ts', import.meta.url).href;
const API_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Creates the shop tables and seed rows (both files are idempotent). */
export async function applyDemoSchema(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'evictd-demo-setup' });
  await client.connect();
  try {
    for (const file of SQL_FILES) await client.query(await readFile(file, 'utf8'));
  } finally {
    await client.end();
  }
}

export interface EvictdChild {
  pid: number;
  /** Base URL of its /metrics and /healthz. */
  url: string;
  /** The last lines it wrote, for error messages. */
  recentOutput(): string;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code (null if killed). */
  stop(): Promise<number | null>;
}

export interface StartEvictdOptions {
  /** DATABASE_URL, KAFKA_BROKERS, REDIS_URL and the EVICTD_* names the rules file reads. */
  env: Record<string, string>;
  configFile?: string;
  /** Every output line (pino JSON), e.g. to write a log file. */
  onOutput?: (line: string) => void;
  /** Told every few seconds what evictd is still waiting for (from its /healthz). */
  onProgress?: (message: string) => void;
  readyTimeoutMs?: number;
}

/** A busy machine can take minutes for Kafka's first group join; the terminal hears about it meanwhile. */
const READY_TIMEOUT_MS = 180_000;
const PROGRESS_EVERY_MS = 5_000;

const KEEP_LINES = 40;
const STOP_TIMEOUT_MS = 15_000;

/** Whether a child of the demo has exited, and its stop: SIGTERM, then SIGKILL if it has not exited in time. */
function lifecycle(child: ChildProcess): { stop: () => Promise<number | null>; hasExited: () => boolean } {
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    hasExited = true;
    resolve(code);
  }));
  const stop = async () => {
    if (hasExited) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { stop, hasExited: () => hasExited };
}

/** Starts `evictd run --config <demo rules>` and resolves when its /healthz answers 200. */
export async function startEvictd(options: StartEvictdOptions): Promise<EvictdChild> {
  const configFile = options.configFile ?? DEMO_RULES_FILE;
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', '--import', EXIT_WITH_PARENT, EVICTD_CLI, 'run', '--config', configFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    // stdin stays open and unused: its end tells the child that this process is gone.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let url: string | undefined;
  const { stop, hasExited } = lifecycle(child);

  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > KEEP_LINES) lines.shift();
        options.onOutput?.(line);
        url ??= runningUrl(line);
      }
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);

  const recentOutput = () => lines.join('\n');

  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const started = Date.now();
  let reportedAt = started;
  try {
    for (;;) {
      if (hasExited()) throw new Error(`evictd run exited before it was healthy (config ${configFile}); its last output:\n${recentOutput()}`);
      if (Date.now() - started > timeoutMs) throw new Error(`evictd run was not healthy within ${timeoutMs} ms; its last output:\n${recentOutput()}`);
      const health = url === undefined ? { ok: false, waitingFor: 'its HTTP server' } : await healthOf(url);
      if (health.ok) break;
      if (options.onProgress && Date.now() - reportedAt >= PROGRESS_EVERY_MS) {
        reportedAt = Date.now();
        options.onProgress(`evictd run is starting (${Math.round((reportedAt - started) / 1000)} s): ${health.waitingFor}`);
      }
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, url: url!, recentOutput, stop };
}

export interface StartDemoOptions {
  /**
   * The environment of both the API (see config.ts) and `evictd run`: DATABASE_URL, KAFKA_BROKERS,
   * REDIS_URL, and the names the rules file shares with the API (EVICTD_TOPIC_PREFIX,
   * EVICTD_KEY_PREFIX) or defaults for one demo per database (EVICTD_SLOT, EVICTD_PUBLICATION,
   * EVICTD_GROUP_ID). A busy PORT falls back to a free one.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** The config of `evictd run`; default the demo rules (services/demo-api/demo/evictd.yaml). */
  evictdConfigFile?: string;
  onEvictdOutput?: (line: string) => void;
  /** What it is doing while it waits (for a terminal). */
  onProgress?: (message: string) => void;
  /**
   * Also run instance B as a child process (its own L1); instance A (this process, `api`) relays
   * B's L1 events and reads to its page. Default false.
   */
  secondInstance?: boolean;
  /** The local stack's Redis: the page offers a button that stops it for a few seconds. */
  redisControl?: RedisControl;
  /**
   * A Varnish in front of instance A (startVarnishTier): evictd runs with its config (Redis and the
   * edge target; unless evictdConfigFile is given), A's page shows the Varnish step and reads
   * through it, and Varnish is pointed at A once A listens.
   */
  varnish?: Pick<VarnishTier, 'url' | 'configFile' | 'useApi'>;
}

export interface ApiChild {
  pid: number;
  url: string;
  recentOutput(): string;
  stop(): Promise<number | null>;
}

export interface RunningDemo {
  api: DemoApi;
  /** Instance B, with secondInstance. */
  peer: ApiChild | null;
  evictd: EvictdChild;
  /** False when the API's change consumer did not come up (the page then shows no timeline). */
  timelineReady: boolean;
  /** API first, then evictd (it flushes and acknowledges before it exits). */
  stop(): Promise<void>;
}

const TIMELINE_READY_TIMEOUT_MS = 60_000;

/** Schema and seed, `evictd run` with the demo rules, then the demo API; resolves when all are healthy. */
export async function startDemo(options: StartDemoOptions): Promise<RunningDemo> {
  const config = parseDemoConfig(options.env);
  const logger = createDemoLogger(config);
  await applyDemoSchema(config.databaseUrl);
  const evictdEnv = Object.fromEntries(Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined));
  options.onProgress?.('demo schema and seed applied; starting `evictd run` (it creates its slot, publication and topics, then joins its consumer group)...');
  const evictdConfigFile = options.evictdConfigFile ?? options.varnish?.configFile;
  const evictd = await startEvictd({ env: evictdEnv, ...(evictdConfigFile ? { configFile: evictdConfigFile } : {}), ...(options.onEvictdOutput ? { onOutput: options.onEvictdOutput } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  let peer: ApiChild | null = null;
  let api: DemoApi;
  try {
    if (options.secondInstance) {
      options.onProgress?.('evictd run is healthy; starting demo API instance B (a process of its own, its own L1)...');
      peer = await startApiChild({ ...evictdEnv, DEMO_INSTANCE: 'B', HOST: config.host, PORT: String(await freePort(config.host)) });
    }
    options.onProgress?.(`starting the demo API${peer ? ' instance A' : ''} and its timeline consumer...`);
    // Instance A shows evictd's Redis INFO figures (from its /metrics) on the page.
    const configA = { ...config, evictdMetricsUrl: evictd.url, ...(peer ? { instance: 'A', peerUrl: peer.url } : {}), ...(options.varnish ? { varnishUrl: options.varnish.url } : {}) };
    const extras = options.redisControl ? { redisControl: options.redisControl } : {};
    api = await startDemoApi(configA, logger, extras).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      logger.warn({ port: config.port }, 'port busy: using a free port instead');
      return startDemoApi({ ...configA, port: 0 }, logger, extras);
    });
  } catch (err) {
    await peer?.stop();
    await evictd.stop();
    throw err;
  }
  options.varnish?.useApi(api.url);
  const timelineReady = await waitForTimeline(api);
  return {
    api,
    peer,
    evictd,
    timelineReady,
    async stop() {
      await api.close();
      await peer?.stop();
      await evictd.stop();
    },
  };
}


const API_READY_TIMEOUT_MS = 60_000;

/** Starts the demo API's service entry point (main.ts) as a child; resolves once its /healthz answers 200. */
async function startApiChild(env: Record<string, string>): Promise<ApiChild> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', '--import', EXIT_WITH_PARENT, API_MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      lines.push(...chunk.split('\n').filter(Boolean));
      lines.splice(0, Math.max(0, lines.length - KEEP_LINES));
    });
  }
  const { stop, hasExited } = lifecycle(child);
  const recentOutput = () => lines.join('\n');
  const url = `http://${env.HOST!.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.PORT}`;
  const deadline = Date.now() + API_READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (hasExited()) throw new Error(`demo API instance ${env.DEMO_INSTANCE} exited before it was healthy; its last output:\n${recentOutput()}`);
      if (Date.now() > deadline) throw new Error(`demo API instance ${env.DEMO_INSTANCE} was not healthy within ${API_READY_TIMEOUT_MS} ms; its last output:\n${recentOutput()}`);
      const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, url, recentOutput, stop };
}

/** The API serves at once; its timeline needs its change consumer in place (offsets resolved). */
async function waitForTimeline(api: DemoApi): Promise<boolean> {
  const deadline = Date.now() + TIMELINE_READY_TIMEOUT_MS;
  for (;;) {
    const { detail } = await api.health();
    const state = (detail.timeline as { changeFeed?: string } | undefined)?.changeFeed;
    if (state === 'ready') return true;
    if (state === 'failed' || Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** The /metrics and /healthz URL from evictd's first log line ("evictd starting"; "evictd running" later). */
function runningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; http?: string };
    return (entry.msg === 'evictd running' || entry.msg?.startsWith('evictd starting')) && typeof entry.http === 'string' ? entry.http : undefined;
  } catch {
    return undefined;
  }
}

interface HealthBody {
  detail?: { state?: string; roles?: { role: string; ok: boolean; detail?: { state?: string; waitingFor?: string | null; redis?: { down?: boolean } } }[] };
}

/** Whether evictd is healthy, and if not, what it says it waits for. */
async function healthOf(url: string): Promise<{ ok: boolean; waitingFor: string }> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (res.ok) return { ok: true, waitingFor: '' };
    const body = (await res.json()) as HealthBody;
    const roles = (body.detail?.roles ?? []).filter((r) => !r.ok);
    const reasons = roles.map((r) => {
      const d = r.detail ?? {};
      if (d.state === 'starting') return `${r.role}: ${d.waitingFor ?? 'connecting to Postgres and Kafka'}`;
      if (d.state === 'waiting') return `${r.role}: starts next`;
      if (d.redis?.down) return `${r.role}: Redis unreachable`;
      return `${r.role}: joining its Kafka consumer group / opening the replication stream`;
    });
    return { ok: false, waitingFor: reasons.join('; ') || 'not healthy yet' };
  } catch (err) {
    return { ok: false, waitingFor: `its /healthz does not answer (${(err as Error).message})` };
  }
}
