/**
 * A token bucket shared by all of a target's requests: `ratePerSec` tokens a second, at most one
 * second's worth saved up (a burst after a quiet spell, never more than the vendor's per-second
 * budget). Pure given `now`; `take` waits for a token.
 */
import { sleep } from '../../retry.js';

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(1, ratePerSec);
    this.tokens = this.capacity;
    this.last = now();
  }

  /** Takes a token if one is there; otherwise returns how many ms until the next one. */
  tryTake(): number {
    if (this.ratePerSec <= 0) return 0;
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec);
  }

  /** Resolves once a token is taken (or the signal aborted: then false). */
  async take(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const wait = this.tryTake();
      if (wait === 0) return true;
      await sleep(wait, signal);
    }
  }
}
