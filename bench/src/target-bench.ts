/** What a target scenario (target-http, target-memcached) is given by bench/src/run.ts. */
import type { Pool } from 'pg';
import type { StackEnv } from '@evictd/infra';
import type { EvictdRuntime } from './evictd.js';

export interface TargetBenchOptions {
  env: StackEnv;
  pool: Pool;
  dir: string;
  runtime: EvictdRuntime;
  node: string;
  /** Paced single-row updates per second, and for how long. */
  ratePerSec: number;
  seconds: number;
  /** Rows updated in the throughput run (100 rows per transaction). */
  bulkRows: number;
  log: (message: string) => void;
}
