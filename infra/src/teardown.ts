/**
 * Leaves no orphan servers: stacks register here, and are killed when the process exits without
 * stopping them, and stopped gracefully on SIGINT/SIGTERM/SIGHUP when the owner asks for that.
 * A SIGKILLed launcher runs no handler at all: for that a small watchdog shell waits on a pipe
 * from this process and, when the pipe closes, runs a cleanup script kept up to date here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Teardown {
  /** Servers were started with keep: leave them running when the process ends. */
  readonly keep: boolean;
  stop(): Promise<void>;
  /** Only synchronous work is possible in an 'exit' handler. */
  killSync(): void;
  /** What to clean up should this process die without a word. */
  leftovers(): { pids: number[]; dirs: string[] };
}

const live = new Set<Teardown>();
let exitHookInstalled = false;
let signalHooksInstalled = false;
let watchdogScript: string | undefined;

export function track(stack: Teardown, handleSignals: boolean): void {
  live.add(stack);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const s of live) if (!s.keep) s.killSync();
      if (watchdogScript) rmSync(watchdogScript, { force: true });
    });
  }
  if (handleSignals && !signalHooksInstalled) {
    signalHooksInstalled = true;
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => void stopAllThenExit(sig));
  }
}

export function untrack(stack: Teardown): void {
  live.delete(stack);
  serversChanged();
}

/** Rewrites the watchdog's cleanup script; call whenever a server started or went away. */
export function serversChanged(): void {
  const pids: number[] = [];
  const dirs: string[] = [];
  for (const s of live) {
    if (s.keep) continue;
    const l = s.leftovers();
    pids.push(...l.pids);
    dirs.push(...l.dirs);
  }
  if (pids.length === 0 && dirs.length === 0) {
    if (watchdogScript) rmSync(watchdogScript, { force: true });
    return;
  }
  watchdogScript ??= startWatchdog();
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  // The pause lets killed servers' children (Postgres backends) exit before their files go.
  const lines = [pids.length ? `kill -KILL ${pids.join(' ')} 2>/dev/null; sleep 1` : '', ...dirs.map((d) => `rm -rf ${quote(d)}`)];
  writeFileSync(watchdogScript, `${lines.filter(Boolean).join('\n')}\n`);
}

function startWatchdog(): string {
  const script = join(tmpdir(), `evictd-stack-watchdog-${process.pid}.sh`);
  // `read` returns at EOF, i.e. when this process is gone; the script is absent after a clean exit.
  const watch = 'while read -r _; do :; done; if [ -f "$1" ]; then sh "$1"; rm -f "$1"; fi';
  const child = spawn('sh', ['-c', watch, 'evictd-stack-watchdog', script], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.unref();
  (child.stdin as Socket).unref(); // the open pipe must not keep this process alive
  return script;
}

const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

async function stopAllThenExit(sig: keyof typeof SIGNAL_EXIT_CODES): Promise<void> {
  // A second signal while stopping: give up on grace (the exit hook kills what is left).
  for (const again of Object.keys(SIGNAL_EXIT_CODES)) process.once(again, () => process.exit(SIGNAL_EXIT_CODES[sig]));
  await Promise.allSettled([...live].filter((s) => !s.keep).map((s) => s.stop()));
  process.exit(SIGNAL_EXIT_CODES[sig]);
}

/**
 * No child a harness starts (evictd roles in the bench, fault and integration tests) may outlive
 * it, whatever ends it: a normal end kills it through the owner's own stop; process.exit (a signal
 * handled here, --test-force-exit after a test timeout) through the exit hook; a SIGKILL of the
 * harness through the child's own watchdog, a shell that reads a pipe from this process and kills
 * the child at EOF (the kernel closes the pipe however this process dies).
 */
const liveChildren = new Set<ChildProcess>();
let childExitHookInstalled = false;
export function guardChild(proc: ChildProcess): void {
  if (proc.pid === undefined) return; // it never started: nothing to guard
  liveChildren.add(proc);
  if (!childExitHookInstalled) {
    childExitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  const watchdog = spawn('sh', ['-c', 'while read -r _; do :; done; kill -KILL "$1" 2>/dev/null', 'evictd-child-watchdog', String(proc.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.unref();
  (watchdog.stdin as Socket).unref(); // the open pipe must not keep this process alive
  watchdog.on('error', () => undefined);
  proc.once('exit', () => {
    liveChildren.delete(proc);
    watchdog.kill('SIGKILL'); // the child is gone: nothing left to watch (and its pid may be reused)
  });
}
