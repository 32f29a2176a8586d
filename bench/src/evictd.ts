/**
 * Runs evictd roles as child processes, so the benchmark can read their /proc figures and the
 * fault test can kill -9 them. Compiled dist/ is preferred (no tsx in the measured process).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { guardChild, logTail } from '@evictd/infra';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DIST_CLI = join(REPO_ROOT, 'services/invalidator/dist/cli.js');
const SRC_CLI = join(REPO_ROOT, 'services/invalidator/src/cli.ts');

export type EvictdRuntime = 'dist' | 'tsx';
export type EvictdCommand = 'publish' | 'invalidate' | 'run';

/** Whether compiled evictd exists (after `npm run build`). */
export function distAvailable(): boolean {
  return existsSync(DIST_CLI);
}

/** `node -v` of a Node binary (BENCH_NODE), so results say which Node ran evictd. */
export function nodeVersion(node: string): string {
  return execFileSync(node, ['-v'], { encoding: 'utf8' }).trim();
}

export interface EvictdProcessOptions {
  command: EvictdCommand;
  /** The config object (written as YAML); its http.port is the one /healthz is polled on. */
  config: Record<string, unknown> & { http: { port: number; host?: string } };
  /** Where the config, log and CPU profiles go. */
  dir: string;
  runtime: EvictdRuntime;
  /** Write a .cpuprofile into dir/profiles-<command> when the process exits cleanly. */
  cpuProfile?: boolean;
  /** Environment of the child: exactly these connection settings, never the parent's. */
  env?: NodeJS.ProcessEnv;
  /** The Node binary that runs evictd (BENCH_NODE); default: the one running this harness. */
  node?: string;
}

export interface EvictdProcess {
  readonly command: EvictdCommand;
  readonly pid: number | undefined;
  readonly logFile: string;
  readonly profileDir: string;
  readonly metricsUrl: string;
  readonly healthUrl: string;
  /**
   * Set when the process exited without being asked to (no stop() or kill()): how it ended and the
   * last lines of its log (an out-of-memory abort says so there). Cleared by the next spawn.
   */
  readonly death: string | undefined;
  /** Spawns and resolves once /healthz answers 200 (deadline: timeoutMs; on failure the process is killed). */
  start(timeoutMs?: number): Promise<void>;
  /** Spawns without waiting (a restart under faults: the process retries its connections itself). */
  spawn(): void;
  /** Resolves once /healthz answers 200; rejects at the deadline or if the process exits. */
  waitHealthy(timeoutMs: number): Promise<void>;
  /** SIGKILL, like a crash; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (clean stop: flush, acknowledge, commit) and wait for the exit. */
  stop(timeoutMs?: number): Promise<void>;
}

const CONNECTION_ENV = ['DATABASE_URL', 'KAFKA_BROKERS', 'REDIS_URL'];

export function evictdProcess(options: EvictdProcessOptions): EvictdProcess {
  const { command, dir, runtime } = options;
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, `${command}.yaml`);
  const logFile = join(dir, `${command}.log`);
  const profileDir = join(dir, `profiles-${command}`);
  writeFileSync(configFile, stringify(options.config));
  const healthUrl = `http://127.0.0.1:${options.config.http.port}/healthz`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let asked = false; // stop() or kill() was called for the running child
  let death: string | undefined;

  const env = { ...process.env };
  for (const name of CONNECTION_ENV) delete env[name]; // the config file says where to connect
  Object.assign(env, options.env);

  function spawnChild(): void {
    if (child) throw new Error(`evictd ${command} is already running (pid ${child.pid})`);
    if (runtime === 'dist' && !distAvailable()) throw new Error(`${DIST_CLI} is missing: run \`npm run build\` first`);
    const args = [
      ...(options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(runtime === 'tsx' ? ['--conditions=development', '--import', 'tsx', SRC_CLI] : [DIST_CLI]),
      command,
      '--config',
      configFile,
    ];
    const fd = openSync(logFile, 'a');
    const proc = spawn(options.node ?? process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    guardChild(proc); // no evictd child outlives the bench or the fault test, however they end
    child = proc;
    asked = false;
    death = undefined;
    exited = new Promise((done) =>
      proc.once('exit', (code, sig) => {
        if (!asked) death = `evictd ${command} (pid ${proc.pid}) exited by itself with ${sig ? `signal ${sig}` : `code ${code}`}; the end of ${logFile}:\n${logTail(logFile, 15)}`;
        done();
      }),
    );
    void exited.then(() => {
      if (child === proc) child = undefined;
    });
  }

  async function waitHealthy(timeoutMs: number): Promise<void> {
    const proc = child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!proc || child !== proc) throw new Error(`evictd ${command} is not running (exited during start-up?); see ${logFile}`);
      const ok = await fetch(healthUrl, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`evictd ${command} not healthy after ${timeoutMs} ms (${healthUrl}); see ${logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function start(timeoutMs = 60_000): Promise<void> {
    spawnChild();
    try {
      await waitHealthy(timeoutMs);
    } catch (err) {
      await signal('SIGKILL', 0);
      throw err;
    }
  }

  async function signal(sig: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const proc = child;
    if (!proc) return;
    asked = true;
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  return {
    command,
    get pid() {
      return child?.pid;
    },
    logFile,
    profileDir,
    metricsUrl: `http://127.0.0.1:${options.config.http.port}/metrics`,
    healthUrl,
    get death() {
      return death;
    },
    start,
    spawn: spawnChild,
    waitHealthy,
    kill: () => signal('SIGKILL', 0),
    stop: (timeoutMs = 30_000) => signal('SIGTERM', timeoutMs),
  };
}

/**
 * Waits until check() holds, polling every 20 ms; rejects at the deadline, and at once when one
 * of the evictd processes died meanwhile (its log's end in the message), rather than waiting out
 * a deadline for work a dead process will never do.
 */
export async function waitWhileAlive(what: string, check: () => boolean, timeoutMs: number, processes: readonly Pick<EvictdProcess, 'death'>[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    const dead = processes.find((p) => p.death !== undefined);
    if (dead) throw new Error(`while waiting for ${what}: ${dead.death}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface PipelineConfigOptions {
  env: { DATABASE_URL: string; KAFKA_BROKERS: string; REDIS_URL: string };
  /** A name used for the slot, publication, topic prefix and consumer group (unique per run). */
  name: string;
  tables: Record<string, { keys?: string[]; tags?: string[] }>;
  httpPort: number;
  markerTtlMs?: number;
  /** Overrides of the publish section (e.g. maxInFlightBytes); defaults otherwise. */
  publish?: Record<string, number>;
  /** Overrides of the invalidate section (e.g. maxWaitTimeMs). */
  invalidate?: Record<string, number>;
}

/** An evictd config for one role process of a benchmark or fault run. */
export function pipelineConfig(o: PipelineConfigOptions): EvictdProcessOptions['config'] {
  return {
    postgres: { url: o.env.DATABASE_URL, slot: o.name, publication: o.name, createPublication: true },
    kafka: { brokers: o.env.KAFKA_BROKERS.split(','), clientId: o.name, topicPrefix: o.name, partitions: 6, replicationFactor: 1 },
    redis: { url: o.env.REDIS_URL, keyPrefix: '' },
    ...(o.publish ? { publish: o.publish } : {}),
    invalidate: { groupId: `${o.name}-cache`, deadLetterTopic: `${o.name}.dlq`, ...(o.markerTtlMs ? { markerTtlMs: o.markerTtlMs } : {}), ...o.invalidate },
    http: { host: '127.0.0.1', port: o.httpPort },
    log: { level: 'warn' },
    tables: o.tables,
  };
}
