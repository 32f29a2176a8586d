/**
 * The parts around the demo API that `npm run demo` and the end-to-end tests share: the demo schema
 * and seed, and `evictd run` as a child process with the demo rules.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEMO_RULES_FILE = fileURLToPath(new URL('../demo/evictd.yaml', import.meta.url));
const SQL_FILES = ['demo-schema.sql', 'demo-seed.sql'].map((f) => fileURLToPath(new URL(`../../../infra/sql/${f}`, import.meta.url)));
const EVICTD_CLI = fileURLToPath(new URL('../../invalidator/src/cli.ts', import.meta.url));

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
  readyTimeoutMs?: number;
}

const KEEP_LINES = 40;
const STOP_TIMEOUT_MS = 15_000;

/** Starts `evictd run --config <demo rules>` and resolves when its /healthz answers 200. */
export async function startEvictd(options: StartEvictdOptions): Promise<EvictdChild> {
  const configFile = options.configFile ?? DEMO_RULES_FILE;
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', EVICTD_CLI, 'run', '--config', configFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let url: string | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

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

  const stop = async () => {
    if (hasExited) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const recentOutput = () => lines.join('\n');

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (hasExited) throw new Error(`evictd run exited before it was healthy (config ${configFile}); its last output:\n${recentOutput()}`);
      if (Date.now() > deadline) throw new Error(`evictd run was not healthy within ${options.readyTimeoutMs ?? 60_000} ms; its last output:\n${recentOutput()}`);
      if (url !== undefined && (await healthy(url))) break;
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, url: url!, recentOutput, stop };
}

/** The /metrics URL from evictd's "evictd running" log line. */
function runningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; http?: string };
    return entry.msg === 'evictd running' && typeof entry.http === 'string' ? entry.http : undefined;
  } catch {
    return undefined;
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}
