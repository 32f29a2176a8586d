import { describeError } from '../errors.js';
import type { HealthReport } from './http.js';

/** What a starting role tells /healthz: why it is not ready yet. */
export interface StartupReporter {
  /** A start-up step failed and is retried: `err` says what it waits for. */
  retrying(err: unknown, attempt: number): void;
}

interface Running {
  name: string;
  health(): HealthReport;
}

type RoleState =
  | { state: 'waiting' }
  | { state: 'starting'; since: number; attempts: number; waitingFor: string | null }
  | { state: 'running'; role: Running };

/**
 * The process's health from its first second: 503 while the roles start (with what each one is
 * waiting for), the roles' own health once they run, 503 again while stopping. The HTTP server
 * serves `report()` before any server is reached, so a start-up stuck on an unreachable Postgres
 * or Kafka says so instead of not answering.
 */
export class Readiness {
  private readonly roles = new Map<string, RoleState>();
  private stoppingSince: number | null = null;

  constructor(names: readonly string[], private readonly now: () => number = Date.now) {
    for (const name of names) this.roles.set(name, { state: 'waiting' });
  }

  /** Marks `name` as starting and returns the reporter its start-up retries call. */
  starting(name: string): StartupReporter {
    const state: RoleState = { state: 'starting', since: this.now(), attempts: 0, waitingFor: null };
    this.roles.set(name, state);
    return {
      retrying: (err, attempt) => {
        state.attempts = attempt;
        state.waitingFor = describeError(err);
      },
    };
  }

  running(role: Running): void {
    this.roles.set(role.name, { state: 'running', role });
  }

  stopping(): void {
    this.stoppingSince ??= this.now();
  }

  report(): HealthReport {
    const roles = [...this.roles].map(([name, s]) => {
      if (s.state === 'running') return { role: name, ...s.role.health() };
      if (s.state === 'waiting') return { role: name, ok: false, detail: { state: 'waiting', reason: 'starts after the roles before it' } };
      return { role: name, ok: false, detail: { state: 'starting', forMs: this.now() - s.since, attempts: s.attempts, waitingFor: s.waitingFor } };
    });
    const allRunning = [...this.roles.values()].every((s) => s.state === 'running');
    const state = this.stoppingSince !== null ? 'stopping' : allRunning ? 'running' : 'starting';
    return { ok: state === 'running' && roles.every((r) => r.ok), detail: { state, roles } };
  }
}
