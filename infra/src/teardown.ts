/**
 * Leaves no orphan servers: stacks register here, and are killed when the process exits without
 * stopping them, and stopped gracefully on SIGINT/SIGTERM/SIGHUP when the owner asks for that.
 */
export interface Teardown {
  /** Servers were started with keep: leave them running when the process ends. */
  readonly keep: boolean;
  stop(): Promise<void>;
  /** Only synchronous work is possible in an 'exit' handler. */
  killSync(): void;
}

const live = new Set<Teardown>();
let exitHookInstalled = false;
let signalHooksInstalled = false;

export function track(stack: Teardown, handleSignals: boolean): void {
  live.add(stack);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const s of live) if (!s.keep) s.killSync();
    });
  }
  if (handleSignals && !signalHooksInstalled) {
    signalHooksInstalled = true;
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => void stopAllThenExit(sig));
  }
}

export function untrack(stack: Teardown): void {
  live.delete(stack);
}

const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

async function stopAllThenExit(sig: keyof typeof SIGNAL_EXIT_CODES): Promise<void> {
  // A second signal while stopping: give up on grace (the exit hook kills what is left).
  for (const again of Object.keys(SIGNAL_EXIT_CODES)) process.once(again, () => process.exit(SIGNAL_EXIT_CODES[sig]));
  await Promise.allSettled([...live].filter((s) => !s.keep).map((s) => s.stop()));
  process.exit(SIGNAL_EXIT_CODES[sig]);
}
