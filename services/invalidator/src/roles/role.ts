import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EvictdConfig } from '../config/index.js';
import type { HealthReport } from '../observability/http.js';
import type { StartupReporter } from '../observability/readiness.js';

/** What every role (publish, invalidate) is given by the CLI. */
export interface RoleContext {
  config: EvictdConfig;
  logger: Logger;
  registry: Registry;
  /** Aborted when the process is asked to stop; long waits (backoff, polls) should end early. */
  signal: AbortSignal;
  /** Start-up retries report what they wait for here, so /healthz can say it before the role runs. */
  startup?: StartupReporter;
}

/** A running role. `done` settles when it ends by itself: resolves on a clean stop, rejects on a fatal error. */
export interface Role {
  name: string;
  done: Promise<void>;
  /** Finishes in-flight work (flush, acknowledge, commit) and releases connections. */
  stop(): Promise<void>;
  health(): HealthReport;
}

export type StartRole = (ctx: RoleContext) => Promise<Role>;
