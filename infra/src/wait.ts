import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** What is being waited for; named in the timeout error. */
  what: string;
  /** Pause between two checks (default 50 ms). */
  intervalMs?: number;
  /** Stop waiting early (e.g. the server process exited). */
  signal?: AbortSignal;
  /**
   * A check that throws ends the wait at once with that error, instead of counting as "not yet"
   * (e.g. a condition that throws when the process it waits on has exited).
   */
  stopOnError?: boolean;
}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or the deadline passes.
 * A check that throws counts as "not yet" (the last error is attached as the timeout's cause),
 * unless `stopOnError` is set: then its error is thrown at once.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const { timeoutMs, what, intervalMs = 50, signal, stopOnError = false } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await condition();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
      lastError = undefined;
    } catch (err) {
      if (stopOnError) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last check: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`, { cause: lastError });
    }
    try {
      await sleep(intervalMs, undefined, signal ? { signal } : undefined);
    } catch (err) {
      throw signal?.aborted ? signal.reason : err;
    }
  }
}
