/** The shape of bench/results/latest.json: what one `npm run bench` measured. */
import type { Truncate1mResults } from './truncate-1m.js';

export interface LatencyStep {
  /** Single-row transactions per second the load generator aimed at. */
  offeredPerSec: number;
  /** What it managed (the machine may not keep up with the offered rate). */
  achievedPerSec: number;
  commits: number;
  /** Commits whose key deletion was never observed before the step's deadline. */
  unobserved: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** evictd's own histograms over the step (bucket bounds, ms; source.ts_ms has 1 ms resolution). */
  stages?: StageTimes;
}

export interface StageTimes {
  commitToKafkaMeanMs: number;
  /** Upper bound of the histogram bucket holding the 99th percentile. */
  commitToKafkaP99Ms: number;
  commitToDeleteMeanMs: number;
  commitToDeleteP99Ms: number;
}

export interface ProcessUsage {
  process: string;
  phase: string;
  /** Peak resident set size over the phase, MiB. */
  rssPeakMiB: number;
  /** CPU time over wall time of the phase, percent of one core. */
  cpuPercent: number;
  /** CPU seconds (user + system) over the phase. */
  cpuSeconds?: number;
  /** Row changes that went through the pipeline in the phase: with cpuSeconds, the CPU cost per change, which holds on a busy machine where wall-clock rates do not. */
  changes?: number;
  /** Peak V8 heap in use (evictd's own nodejs_heap_size_used_bytes, scraped every second; includes uncollected garbage), MiB. */
  heapUsedPeakMiB?: number;
}

export interface ThroughputRun {
  changes: number;
  seconds: number;
  perSec: number;
}

export interface RawLimits {
  /** pg_recvlogical (pgoutput) of the same workload to /dev/null: decoded row changes per second. */
  pgDecodeRowsPerSec: number;
  /** UNLINK of existing keys, 100 keys per command, 10 commands per pipelined round trip: keys per second. */
  redisUnlinkPerSec: number;
  /** kafkajs sendBatch of messages the size of a change event, messages per second. */
  kafkaProducePerSec: number;
  /** kafkajs eachBatch consumption of the same messages, messages per second. */
  kafkaConsumePerSec: number;
}

/** Latency floors of the parts, same run (not part of the throughput ratios). */
export interface RawLatency {
  /** One-message idempotent sendBatch with acks from all replicas, back to back: p50 and p99, ms. */
  kafkaSendRttP50Ms: number;
  kafkaSendRttP99Ms: number;
}

export interface ProfileFrame {
  functionName: string;
  location: string;
  selfPercent: number;
}

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  environment: {
    /** Node of the harness (load generator, observer, raw probes). */
    node: string;
    /** Node of the evictd processes (BENCH_NODE; the harness's own when unset). Absent in runs before it was recorded. */
    evictdNode?: string;
    cpus: number;
    cpuModel: string;
    /** 1-minute load average before and after the run: a busy machine makes every number pessimistic. */
    loadAverage: { before: number; after: number };
    /** How the evictd processes were run: compiled dist/ or TypeScript through tsx. */
    evictdRuntime: 'dist' | 'tsx';
    /** NODE_OPTIONS given to the evictd processes (BENCH_EVICTD_NODE_OPTIONS); empty: Node's defaults. */
    evictdNodeOptions: string;
    /** publish.maxInFlightBytes when the run set it (BENCH_MAX_IN_FLIGHT_BYTES); absent: evictd's default. */
    maxInFlightBytes?: number;
    /** Other publish settings the run set (BENCH_PUBLISH); absent: evictd's defaults. */
    publishSettings?: Record<string, number>;
    /** Invalidate settings the run set (BENCH_INVALIDATE). */
    invalidateSettings?: Record<string, number>;
    /** NODE_OPTIONS of the publisher only (BENCH_PUBLISH_NODE_OPTIONS). */
    publishNodeOptions?: string;
    /** NODE_OPTIONS of the invalidator only (BENCH_INVALIDATE_NODE_OPTIONS). */
    invalidateNodeOptions?: string;
    quick: boolean;
  };
  latency: LatencyStep[];
  throughput: ThroughputRun;
  backlog: ThroughputRun & {
    startupSeconds: number;
    /** Publisher's Kafka batches during the drain (evictd_publish_batch_events): one is in flight at a time. */
    publishBatches?: { count: number; meanEvents: number; perSec: number };
  };
  processes: ProcessUsage[];
  raw: RawLimits;
  rawLatency?: RawLatency;
  /** evictd's throughput over each raw limit. */
  ratios: Record<keyof RawLimits, number>;
  profiles: { process: string; phase: string; top: ProfileFrame[] }[];
  /** Scenario truncate-1m (may come from a later run than the rest: see its startedAt). */
  truncate1m?: Truncate1mResults;
  /** Scenario l1 (may come from a later run than the rest: see its startedAt). */
  l1?: L1BenchResults;
}

/** Scenario l1: the in-process tier's hit latency and how fast invalidations reach every instance's L1 (ms). */
export interface L1BenchResults {
  startedAt: string;
  hit: { calls: number; l1: { p50: number; p99: number }; redis: { p50: number; p99: number } };
  /** From just before the invalidation call to the last instance's L1 drop. */
  drop: { instances: number; runs: number; p50: number; p99: number; max: number }[];
}
