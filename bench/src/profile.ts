/** Summarizes a V8 .cpuprofile (node --cpu-prof) into its top self-time frames. Pure. */
import type { ProfileFrame } from './results.js';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: readonly CpuProfileNode[];
  samples: readonly number[];
  /** Microseconds before each sample. */
  timeDeltas: readonly number[];
}

/** Where a frame lives, shortened to the package or repository-relative path. */
export function shortLocation(url: string, lineNumber: number): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  const short = nm >= 0 ? path.slice(nm + 'node_modules/'.length) : path.replace(/^.*?\/(services|packages|schemas|bench)\//, '$1/');
  return `${short}:${lineNumber + 1}`;
}

/**
 * Self time per function (same name and location merged), as a percentage of the time the
 * process was not idle, highest first.
 */
export function topFrames(profile: CpuProfile, limit = 10): ProfileFrame[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { frame: Omit<ProfileFrame, 'selfPercent'>; us: number }>();
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) throw new Error(`cpuprofile sample ${i} names node ${id}, which the profile does not contain`);
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') return;
    const us = profile.timeDeltas[i] ?? 0;
    busyUs += us;
    const name = functionName || '(anonymous)';
    const location = shortLocation(url, lineNumber);
    const key = `${name}@${location}`;
    const entry = self.get(key) ?? { frame: { functionName: name, location }, us: 0 };
    entry.us += us;
    self.set(key, entry);
  });
  if (busyUs === 0) return [];
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({ ...e.frame, selfPercent: (100 * e.us) / busyUs }));
}
