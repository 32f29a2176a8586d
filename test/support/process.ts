/** Child processes for tests: evictd and friends, with their output captured for assertions and failures. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardChild, waitFor } from '@evictd/infra';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CapturedProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
  /** True once it has exited. */
  gone: () => boolean;
}

/** SIGTERM to each process still running (a clean stop: flush, commit), then waits for all of them to exit. */
export async function stopGracefully(...procs: (CapturedProcess | undefined)[]): Promise<void> {
  for (const proc of procs) {
    if (proc && !proc.gone()) proc.child.kill('SIGTERM');
    await proc?.exited;
  }
}

/** Spawns `node args…` with stdout and stderr captured; it does not outlive the test process. */
export function spawnNode(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): CapturedProcess {
  const child = spawn(process.execPath, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  guardChild(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exitedYet = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitedYet = true;
      resolve(code);
    }),
  );
  return { child, output: () => output, exited, gone: () => exitedYet };
}

/** Writes `yaml` to `evictd.yaml` in a new temp directory and returns its path. */
export function writeTempConfig(yaml: string, prefix = 'evictd-'): string {
  const file = join(mkdtempSync(join(tmpdir(), prefix)), 'evictd.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** `evictd <args…>` from the TypeScript sources, run from the repository root with `env` added. */
export function spawnCli(args: readonly string[], env: Record<string, string>): CapturedProcess {
  return spawnNode(['--conditions=development', '--import', 'tsx', 'services/invalidator/src/cli.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
}

/** Runs `evictd <args…>` to its end: its exit code and everything it wrote. */
export async function runCli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = spawnCli(args, env);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

/**
 * `evictd <command> --config <yaml written to a temp file>` from the TypeScript sources, with the
 * stack's env. Resolves with what `ready(output)` returns once it is truthy; if the process exits
 * first or the wait times out, it is killed and the error carries the tail of its output.
 */
export async function spawnEvictd<T>(
  command: 'publish' | 'invalidate' | 'run',
  env: Record<string, string>,
  yaml: string,
  ready: (output: string) => T | false | null | undefined | '',
  wait: { timeoutMs: number; what: string },
): Promise<CapturedProcess & { ready: T }> {
  const proc = spawnCli([command, '--config', writeTempConfig(yaml, `evictd-${command}-`)], env);
  try {
    const value = await waitFor(() => {
      if (proc.gone()) throw new Error(`evictd ${command} exited early`);
      return ready(proc.output());
    }, { ...wait, stopOnError: true });
    return { ...proc, ready: value as T };
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${proc.output().slice(-3000)}`, { cause: err });
  }
}
