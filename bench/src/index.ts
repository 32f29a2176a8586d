/** What the fault test (test/faults) uses from the measurement toolkit. */
export { freePort } from '@evictd/infra';
export { evictdProcess, pipelineConfig, REPO_ROOT, type EvictdProcess, type EvictdRuntime } from './evictd.js';
export { observeKeyspace, type Observer } from './observer.js';
export { LandingLog, latencyTimeline, matchLandings, type Commit, type TimelineBucket } from './landing.js';
export { nines, round, shareWithin, summarize, type LatencySummary } from './stats.js';
export { HistogramAcrossRestarts, parseGauge, parseHistogram, scrape, shareAtMost } from './metrics.js';
export { wallNow } from './workload.js';
export { countByTarget, faultSchedule, seededRandom, ALL_FAULT_TARGETS, FAULT_RESOURCE, FAULT_TARGETS, type Fault, type FaultTarget } from './faults/schedule.js';
export { findStale, type StaleEntry } from './faults/stale.js';
export { startL1Instance, type L1Instance } from './l1.js';
export { faultRecoveries, outsideRecoveryWindows, recoveryByTarget, type DownWindow, type FaultRecovery, type RecoveryByTarget } from './faults/recovery.js';
