/**
 * Circuit breaker in front of Redis. Pure: the caller passes the clock and reports each call's
 * outcome. closed -> (failureThreshold consecutive failed or slow calls) -> open -> (coolDownMs)
 * -> half-open: up to halfOpenProbes calls go through; the first success closes, a failure
 * opens again for another cool-down.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerPolicy {
  /** Consecutive failed (or slower than latencyBudgetMs) Redis calls that open the breaker. */
  failureThreshold: number;
  /** A Redis call answered later than this counts as a failure (its answer is still used). */
  latencyBudgetMs: number;
  /** A Redis call not answered within this is abandoned: a failure, the caller gets the loader's value. */
  timeoutMs: number;
  /** How long the breaker stays open before letting probes through. */
  coolDownMs: number;
  /** Calls let through at once while half-open. */
  halfOpenProbes: number;
}

export const DEFAULT_BREAKER_POLICY: Readonly<BreakerPolicy> = Object.freeze({
  failureThreshold: 5,
  latencyBudgetMs: 250,
  timeoutMs: 1_000,
  coolDownMs: 2_000,
  halfOpenProbes: 1,
});

export type BreakerTransitionReason = 'failures' | 'slow-calls' | 'cool-down' | 'probe-succeeded' | 'probe-failed';

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  reason: BreakerTransitionReason;
}

/** Permission for one Redis call; report exactly one outcome. */
export interface BreakerPermit {
  readonly probe: boolean;
  succeeded(latencyMs: number, now: number): void;
  failed(now: number): void;
}

export function validateBreakerPolicy(policy: BreakerPolicy): BreakerPolicy {
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`breaker.${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (policy.latencyBudgetMs > policy.timeoutMs) {
    throw new RangeError(`breaker.latencyBudgetMs (${policy.latencyBudgetMs}) must not exceed breaker.timeoutMs (${policy.timeoutMs}): lower the budget or raise the timeout`);
  }
  return Object.freeze({ ...policy });
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private consecutive = 0;
  private slowInRun = 0;
  private openedAt = 0;
  private probesInFlight = 0;

  constructor(
    readonly policy: BreakerPolicy,
    private readonly onTransition: (t: BreakerTransition) => void = () => undefined,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Whether the breaker would let a call through at `now` (moves open -> half-open after the cool-down). */
  acquire(now: number): BreakerPermit | undefined {
    if (this.current === 'open') {
      if (now - this.openedAt < this.policy.coolDownMs) return undefined;
      this.probesInFlight = 0;
      this.move('half-open', 'cool-down');
    }
    if (this.current === 'closed') return this.permit(false);
    if (this.probesInFlight >= this.policy.halfOpenProbes) return undefined;
    this.probesInFlight++;
    return this.permit(true);
  }

  private permit(probe: boolean): BreakerPermit {
    let reported = false;
    const once = (fn: () => void) => {
      if (reported) return;
      reported = true;
      if (probe) this.probesInFlight--;
      fn();
    };
    return {
      probe,
      succeeded: (latencyMs, now) => once(() => (latencyMs > this.policy.latencyBudgetMs ? this.failure(now, true, probe) : this.success(probe))),
      failed: (now) => once(() => this.failure(now, false, probe)),
    };
  }

  private success(probe: boolean): void {
    this.consecutive = 0;
    this.slowInRun = 0;
    // A call permitted while closed may report after the breaker opened: only a probe closes it.
    if (this.current === 'half-open' && probe) this.move('closed', 'probe-succeeded');
  }

  private failure(now: number, slow: boolean, probe: boolean): void {
    if (this.current === 'half-open') {
      if (!probe) return;
      this.openedAt = now;
      this.move('open', 'probe-failed');
      return;
    }
    if (this.current === 'open') return;
    this.consecutive++;
    if (slow) this.slowInRun++;
    if (this.consecutive >= this.policy.failureThreshold) {
      // Named after what the run mostly was, so a dashboard tells "Redis slow" from "Redis down".
      const reason = this.slowInRun * 2 > this.consecutive ? 'slow-calls' : 'failures';
      this.consecutive = 0;
      this.slowInRun = 0;
      this.openedAt = now;
      this.move('open', reason);
    }
  }

  private move(to: BreakerState, reason: BreakerTransitionReason): void {
    const from = this.current;
    this.current = to;
    this.onTransition({ from, to, reason });
  }
}
