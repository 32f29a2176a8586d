import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** First backoff delay; doubles each attempt up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many attempts (default: until stopped). */
  maxAttempts?: number;
  /** Stop retrying when aborted; the last error is rethrown. */
  signal?: AbortSignal;
  /** Decides what may be retried; defaults to errors marked retriable. */
  shouldRetry?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Exponential backoff with full jitter: a random delay in [base/2, base]. Pure given `random`. */
export function backoffDelay(attempt: number, minDelayMs: number, maxDelayMs: number, random = Math.random): number {
  const base = Math.min(maxDelayMs, minDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/**
 * Runs `fn` until it succeeds. Only retriable errors are retried (unknown errors are bugs or bad
 * input: retrying hides them); the others, and the last one when attempts run out or the signal
 * aborts, are rethrown unchanged.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { minDelayMs = 100, maxDelayMs = 5_000, maxAttempts = Infinity, signal, shouldRetry = isRetriable, onRetry } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!shouldRetry(err) || attempt >= maxAttempts || signal?.aborted) throw err;
      const delayMs = backoffDelay(attempt, minDelayMs, maxDelayMs);
      onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}

/** Resolves after `ms`, or early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
