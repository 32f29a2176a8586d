/** Bounds for waiting on another caller's fill. */
export interface WaitPolicy {
  /** Longest a caller waits for another caller's fill before loading itself (without filling). */
  waitMs: number;
  /** First pause between polls. */
  pollMinMs: number;
  /** Longest pause between polls. */
  pollMaxMs: number;
}

export const DEFAULT_WAIT_POLICY: WaitPolicy = { waitMs: 1_000, pollMinMs: 2, pollMaxMs: 50 };

/** Pause before the next poll: doubles from pollMinMs up to pollMaxMs, never past the deadline. Pure. */
export function nextPollDelay(previousMs: number, remainingMs: number, policy: WaitPolicy): number {
  const next = previousMs <= 0 ? policy.pollMinMs : Math.min(previousMs * 2, policy.pollMaxMs);
  return Math.max(0, Math.min(next, remainingMs));
}

export function validateWaitPolicy(policy: WaitPolicy): WaitPolicy {
  for (const name of ['waitMs', 'pollMinMs', 'pollMaxMs'] as const) {
    const v = policy[name];
    if (!Number.isFinite(v) || v < 0) {
      throw new RangeError(`createCache: stampede.${name} must be a non-negative number of milliseconds, got ${String(v)}`);
    }
  }
  if (policy.pollMinMs <= 0 || policy.pollMinMs > policy.pollMaxMs) {
    throw new RangeError(
      `createCache: stampede.pollMinMs (${policy.pollMinMs}) must be > 0 and <= stampede.pollMaxMs (${policy.pollMaxMs})`,
    );
  }
  return policy;
}
