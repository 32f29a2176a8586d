/** Child processes for tests: evictd and friends, with their output captured for assertions and failures. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@evictd/infra';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CapturedProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
  /** True once it has exited. */
  gone: () => boolean;
}

/** Spawns `node args…` with stdout and stderr captured. */
export function spawnNode(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): CapturedProcess {
  const child = spawn(process.execPath, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const file = join(mkdtempSync(join(tmpdir(), `evictd-${command}-`)), 'evictd.yaml');
  writeFileSync(file, yaml);
  const proc = spawnNode(['--conditions=development', '--import', 'tsx', 'services/invalidator/src/cli.ts', command, '--config', file], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
  });
  try {
    const value = await waitFor(() => {
      if (proc.gone()) throw new Error(`evictd ${command} exited early`);
      return ready(proc.output());
    }, wait);
    return { ...proc, ready: value as T };
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${proc.output().slice(-3000)}`, { cause: err });
  }
}
