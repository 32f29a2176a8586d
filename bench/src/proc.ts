/** Resource use of a process from Linux /proc: peak RSS and CPU share over a phase. */
import { readFileSync } from 'node:fs';
import { descendantPids } from '@evictd/infra';

export interface ProcSample {
  /** Resident set size, bytes. */
  rssBytes: number;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
}

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ: 100 on every Linux that Node supports). */
export const USER_HZ = 100;

/** utime + stime from /proc/<pid>/stat; the command name may contain spaces and parentheses. */
export function parseStatCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", fields start at "state" (field 3): utime is field 14, stime field 15.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime/stime from /proc stat line: ${stat.slice(0, 120)}`);
  return utime + stime;
}

/** VmRSS from /proc/<pid>/status, in bytes. */
export function parseStatusRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error('no VmRSS line in /proc status (has the process exited?)');
  return Number(match[1]) * 1024;
}

/** One reading, or undefined once the process is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    return {
      rssBytes: parseStatusRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8')),
      cpuTicks: parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')),
    };
  } catch {
    return undefined;
  }
}

/** Samples a process every intervalMs until stop(): peak RSS and CPU percent of one core over the span. */
export function watchProcess(pid: number, intervalMs = 200): { stop(): { rssPeakMiB: number; cpuPercent: number; cpuSeconds: number } } {
  const first = sampleProcess(pid);
  const t0 = performance.now();
  let peak = first?.rssBytes ?? 0;
  let last = first;
  const timer = setInterval(() => {
    const s = sampleProcess(pid);
    if (!s) return;
    peak = Math.max(peak, s.rssBytes);
    last = s;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const end = sampleProcess(pid) ?? last;
      if (end) peak = Math.max(peak, end.rssBytes);
      const seconds = (performance.now() - t0) / 1000;
      const ticks = first && end ? end.cpuTicks - first.cpuTicks : 0;
      return { rssPeakMiB: peak / 2 ** 20, cpuPercent: seconds > 0 ? (100 * ticks) / USER_HZ / seconds : 0, cpuSeconds: ticks / USER_HZ };
    },
  };
}

/**
 * CPU of a server and every process under it (Postgres runs a process per connection and a
 * walsender per slot reader) over a phase, sampled every intervalMs so processes that exit during
 * the phase still count up to their last sample. RSS is the root's own (children share memory).
 */
export function watchProcessTree(pid: number, intervalMs = 1000): { stop(): { rssPeakMiB: number; cpuPercent: number; cpuSeconds: number } } {
  const start = new Map<number, number>();
  const last = new Map<number, number>();
  const read = (initial: boolean) => {
    for (const p of [pid, ...descendantPids(pid)]) {
      const s = sampleProcess(p);
      if (!s) continue;
      if (initial) start.set(p, s.cpuTicks);
      else if (!start.has(p) && !last.has(p)) start.set(p, 0); // started during the phase
      last.set(p, s.cpuTicks);
    }
  };
  read(true);
  const root = watchProcess(pid, intervalMs);
  const t0 = performance.now();
  const timer = setInterval(() => read(false), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      read(false);
      const seconds = (performance.now() - t0) / 1000;
      let ticks = 0;
      for (const [p, end] of last) ticks += end - (start.get(p) ?? 0);
      return { rssPeakMiB: root.stop().rssPeakMiB, cpuPercent: seconds > 0 ? (100 * ticks) / USER_HZ / seconds : 0, cpuSeconds: ticks / USER_HZ };
    },
  };
}
