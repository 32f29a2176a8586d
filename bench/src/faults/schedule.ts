/**
 * The fault plan: which process is killed (SIGKILL) when, and how long it stays down; and the two
 * table-wide invalidations: a TRUNCATE (and re-insert) of the table, and a lost slot (publisher
 * killed, its replication slot dropped, changes made, publisher started again).
 * Pure and seeded, so a failing run can be replayed exactly with the same FAULTS_SEED.
 */

export type FaultTarget = 'publisher' | 'invalidator' | 'redis' | 'kafka' | 'truncate' | 'lost-slot' | 'postgres';
/**
 * The kinds drawn by default. A Postgres restart is opt-in (FAULTS_TARGETS=...,postgres): adding it
 * here would change every seed's schedule, and the CI seed was picked for the kinds it holds.
 */
export const FAULT_TARGETS: readonly FaultTarget[] = ['publisher', 'invalidator', 'redis', 'kafka', 'truncate', 'lost-slot'];
export const ALL_FAULT_TARGETS: readonly FaultTarget[] = [...FAULT_TARGETS, 'postgres'];

/**
 * What each fault takes down. A lost slot kills the publisher, so it never overlaps a publisher
 * kill; a TRUNCATE is one transaction: nothing is down (its downMs is 0). A Postgres kill shares
 * the publisher's resource too: a lost slot and a TRUNCATE need the database (the TRUNCATE waits
 * for it, see the harness).
 */
export const FAULT_RESOURCE: Readonly<Record<FaultTarget, string | null>> = {
  publisher: 'publisher',
  'lost-slot': 'publisher',
  invalidator: 'invalidator',
  redis: 'redis',
  kafka: 'kafka',
  truncate: null,
  postgres: 'publisher',
};

export interface Fault {
  /** Milliseconds after the workload started. */
  atMs: number;
  target: FaultTarget;
  /** Time between the kill and the restart. */
  downMs: number;
}

export interface ScheduleOptions {
  seed: number;
  /** Faults start within [0, durationMs) and every target is back up by durationMs. */
  durationMs: number;
  targets?: readonly FaultTarget[];
  /** Gap between two fault starts, drawn uniformly. */
  gapMs: readonly [min: number, max: number];
  downMs: readonly [min: number, max: number];
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(random: () => number, [min, max]: readonly [number, number]): number {
  return Math.round(min + random() * (max - min));
}

/**
 * Faults in start order. Different targets may be down at the same time (Kafka down while the
 * publisher restarts is the interesting case); one target (FAULT_RESOURCE) is never killed while
 * it is still down.
 */
export function faultSchedule(options: ScheduleOptions): Fault[] {
  const targets = options.targets ?? FAULT_TARGETS;
  const { durationMs, gapMs, downMs } = options;
  if (targets.length === 0) throw new RangeError('fault schedule needs at least one target');
  for (const [name, [min, max]] of [['gapMs', gapMs], ['downMs', downMs]] as const) {
    if (!(min >= 0 && max >= min)) throw new RangeError(`${name} must be [min, max] with 0 <= min <= max, got [${min}, ${max}]`);
  }
  if (gapMs[1] === 0) throw new RangeError('gapMs max must be positive, or the schedule never advances');
  const random = seededRandom(options.seed);
  const upAgainAt = new Map<string, number>();
  const faults: Fault[] = [];
  for (let at = uniform(random, gapMs); at < durationMs; at += Math.max(1, uniform(random, gapMs))) {
    const available = targets.filter((t) => (upAgainAt.get(FAULT_RESOURCE[t] ?? '') ?? 0) <= at);
    const target = available[Math.floor(random() * available.length)];
    const drawn = uniform(random, downMs);
    if (target === undefined) continue;
    const resource = FAULT_RESOURCE[target];
    const down = resource === null ? 0 : drawn;
    if (at + down > durationMs) continue;
    faults.push({ atMs: at, target, downMs: down });
    if (resource !== null) upAgainAt.set(resource, at + down);
  }
  return faults;
}

/** How many faults hit each target, for the report. */
export function countByTarget(faults: readonly Fault[]): Record<FaultTarget, number> {
  const counts = Object.fromEntries(ALL_FAULT_TARGETS.map((t) => [t, 0])) as Record<FaultTarget, number>;
  for (const f of faults) counts[f.target] += 1;
  return counts;
}
