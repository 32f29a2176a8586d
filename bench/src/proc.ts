/** Resource use of a process from Linux /proc: peak RSS and CPU share over a phase. */
import { readFileSync } from 'node:fs';

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
export function watchProcess(pid: number, intervalMs = 200): { stop(): { rssPeakMiB: number; cpuPercent: number } } {
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
      return { rssPeakMiB: peak / 2 ** 20, cpuPercent: seconds > 0 ? (100 * ticks) / USER_HZ / seconds : 0 };
    },
  };
}
