/**
 * How fast invalidation recovers after each fault, from the run's own observations. Pure.
 *
 * A fault's window runs from its kill (`from`) to the part answering again (`to`: a server that
 * answers its readiness probe, an evictd role spawned again). Its backlog is every commit made
 * before `to` whose invalidation had not landed by `to`. Measured from `to`: the first invalidation
 * landing after it (of the backlog, or of a change committed since: after a Postgres restart there
 * may be no backlog, only new changes), and the backlog's last landing (drained). Both are
 * differences of two times taken in the same run, so they hold up on a busy machine better than a
 * latency percentile does.
 */
import type { Commit } from '../landing.js';
import { lowerBound } from '../landing.js';
import type { FaultTarget } from './schedule.js';

export interface DownWindow {
  target: FaultTarget;
  /** Wall-clock ms: the kill. */
  from: number;
  /** Wall-clock ms: the part answering again. */
  to: number;
}

export interface FaultRecovery {
  target: FaultTarget;
  /** Seconds after `startMs`: the kill and the part answering again. */
  fromS: number;
  toS: number;
  /** Commits made before `to` whose invalidation had not landed by `to`. */
  backlog: number;
  /** ms from `to` to the first invalidation landing after it; null: none was seen. */
  firstMs: number | null;
  /** ms from `to` to the last landing of the backlog (0: nothing was waiting); null when a commit of it never landed. */
  drainedMs: number | null;
  /** Backlog commits never seen landing. */
  neverLanded: number;
  /** Another part was down at some point between this kill and the backlog drained: the figures are a joint recovery. */
  overlapped: boolean;
}

/** The landing of each commit (first landing of its key at or after its commit), or null. */
export function landingTimes(commits: readonly Commit[], landings: ReadonlyMap<string, readonly number[]>): (number | null)[] {
  return commits.map(({ key, commitMs }) => {
    const times = landings.get(key);
    if (!times) return null;
    const i = lowerBound(times, commitMs);
    return i < times.length ? times[i]! : null;
  });
}

export function faultRecoveries(
  downs: readonly DownWindow[],
  commits: readonly Commit[],
  landings: ReadonlyMap<string, readonly number[]>,
  startMs: number,
): FaultRecovery[] {
  const landed = landingTimes(commits, landings);
  const measured = downs.map((d) => {
    let backlog = 0;
    let neverLanded = 0;
    let first = Infinity;
    let last = -Infinity;
    commits.forEach((c, i) => {
      const at = landed[i];
      if (c.commitMs > d.to) {
        if (at !== null && at !== undefined) first = Math.min(first, at);
        return;
      }
      if (at === null || at === undefined) {
        // Never seen landing: it was waiting at `to` too, and keeps this backlog from counting as drained.
        backlog += 1;
        neverLanded += 1;
        return;
      }
      if (at <= d.to) return;
      backlog += 1;
      first = Math.min(first, at);
      last = Math.max(last, at);
    });
    const drained = neverLanded > 0 ? null : backlog === 0 ? d.to : last;
    // The window of this fault: kill to backlog drained (forever when it never drained).
    return { d, backlog, neverLanded, first: first === Infinity ? null : first, drained, end: drained ?? Infinity };
  });
  return measured.map((m) => ({
    target: m.d.target,
    fromS: (m.d.from - startMs) / 1000,
    toS: (m.d.to - startMs) / 1000,
    backlog: m.backlog,
    firstMs: m.first === null ? null : m.first - m.d.to,
    drainedMs: m.drained === null ? null : m.drained - m.d.to,
    neverLanded: m.neverLanded,
    overlapped: measured.some((o) => o !== m && o.d.from <= m.end && o.end >= m.d.from),
  }));
}

export interface RecoveryByTarget {
  target: FaultTarget;
  faults: number;
  /** Of them, faults with no other part down during their recovery (the figures below are over these). */
  alone: number;
  firstMs: { p50: number | null; max: number | null };
  drainedMs: { p50: number | null; max: number | null };
}

function p50max(values: number[]): { p50: number | null; max: number | null } {
  if (values.length === 0) return { p50: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.ceil(sorted.length / 2) - 1]!, max: sorted[sorted.length - 1]! };
}

/**
 * Per fault type, over the faults that recovered alone (no other part down meanwhile): p50 and max
 * of part answering -> first invalidation and -> backlog drained. A fault whose backlog never
 * drained counts as Infinity in the max.
 */
export function recoveryByTarget(recoveries: readonly FaultRecovery[]): RecoveryByTarget[] {
  const targets = [...new Set(recoveries.map((r) => r.target))];
  return targets.map((target) => {
    const all = recoveries.filter((r) => r.target === target);
    const alone = all.filter((r) => !r.overlapped);
    return {
      target,
      faults: all.length,
      alone: alone.length,
      firstMs: p50max(alone.map((r) => r.firstMs ?? Infinity)),
      drainedMs: p50max(alone.map((r) => r.drainedMs ?? Infinity)),
    };
  });
}

/**
 * Commits outside every fault's recovery window (kill to backlog drained; an undrained backlog
 * extends its window to the end of time).
 */
export function outsideRecoveryWindows(commits: readonly Commit[], recoveries: readonly FaultRecovery[], startMs: number): Commit[] {
  const windows = recoveries.map((r) => ({
    from: startMs + r.fromS * 1000,
    to: r.drainedMs === null ? Infinity : startMs + r.toS * 1000 + r.drainedMs,
  }));
  return commits.filter((c) => !windows.some((w) => c.commitMs >= w.from && c.commitMs <= w.to));
}
