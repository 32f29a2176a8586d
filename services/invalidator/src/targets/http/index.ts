/**
 * The HTTP purge target: Varnish (xkey or bans) and CDN purge APIs, driven by request templates
 * (presets.ts, plan.ts). A batch becomes a set of idempotent purge requests sent `concurrency` at
 * a time under one token bucket; each is retried on 408/425/429/5xx and transport failures with
 * backoff (Retry-After honoured) until it succeeds or the consumer stops, and `apply` resolves
 * only when every request of the batch got a 2xx: only then are the batch's offsets committed.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { EvictdError } from '../../errors.js';
import { backoffDelay, sleep } from '../../retry.js';
import type { ApplyContext, Target, TargetContext, TargetOutage } from '../target.js';
import { compilePlan, type PlannedRequest } from './plan.js';
import { TokenBucket } from './rate.js';
import { createSender, describeRequest, requestError, type SendResult } from './send.js';
import type { HttpTargetSettings } from './settings.js';

export type { HttpTargetSettings } from './settings.js';
export { compilePlan } from './plan.js';

/**
 * The problems of an http target's settings that the schema cannot see (preset params, unknown
 * placeholders, missing request templates), as config problems: for the config loader and
 * check-config, so a bad target fails at load with the other problems instead of at start.
 */
export function httpTargetProblems(settings: HttpTargetSettings, name: string): Array<{ path: string; message: string }> {
  try {
    compilePlan(settings, name);
    return [];
  } catch (err) {
    if (!(err instanceof EvictdError) || err.code !== 'CONFIG_INVALID') throw err;
    const { path, reason } = err.context as { path?: string; reason?: string };
    return [{ path: path ?? `targets.${name}`, message: reason ?? err.message }];
  }
}

/** How often a still-failing target is logged again. */
const REPEAT_LOG_MS = 30_000;
/** Longest Retry-After honoured: a CDN asking for more is retried sooner (and asks again). */
const MAX_RETRY_AFTER_MS = 60_000;

export async function createHttpTarget(settings: HttpTargetSettings, name: string, ctx: TargetContext): Promise<Target> {
  const plan = compilePlan(settings, name);
  const logger = ctx.logger.child({ target: name, preset: settings.preset ?? 'custom' });
  const metrics = httpTargetMetrics(ctx.registry);
  const bucket = new TokenBucket(plan.ratePerSec);
  const sender = createSender(settings.concurrency);
  let outage: TargetOutage | null = null;
  let lastLoggedAt = 0;
  let lastConfirmedAt: number | undefined;
  let inFlight = 0;

  const failed = (err: EvictdError) => {
    const now = Date.now();
    if (outage === null) outage = { since: now, error: err.message };
    else outage = { since: outage.since, error: err.message };
    if (now - lastLoggedAt >= REPEAT_LOG_MS) {
      lastLoggedAt = now;
      // debug: the consumer already warns on each retry (onRetry) and reports a fatal error.
      logger.debug({ code: err.code, retriable: err.retriable, downForMs: now - outage.since, ...err.context }, `HTTP purge failed: ${err.message}`);
    }
  };
  const confirmed = () => {
    lastConfirmedAt = Date.now();
    if (outage !== null) {
      logger.info({ downForMs: Date.now() - outage.since }, 'HTTP purges confirmed again');
      outage = null;
      lastLoggedAt = 0;
    }
  };

  /** Sends one request until a 2xx; returns the attempts it took. */
  async function sendUntilConfirmed(req: PlannedRequest, signal: AbortSignal, apply: ApplyContext): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      if (!(await bucket.take(signal))) throw stopped(req);
      const started = performance.now();
      let outcome: SendResult | unknown;
      inFlight++;
      try {
        outcome = await sender.send(req, settings.timeoutMs, signal);
      } catch (err) {
        outcome = err;
      } finally {
        inFlight--;
      }
      metrics.seconds.observe({ target: name, op: req.op }, (performance.now() - started) / 1000);
      const status = isResult(outcome) ? outcome.status : 0;
      metrics.requests.inc({ target: name, op: req.op, status: status === 0 ? 'error' : String(status) });
      if (status >= 200 && status < 300) {
        confirmed();
        return attempt;
      }
      if (signal.aborted) throw stopped(req);
      const err = requestError(name, req, outcome);
      failed(err);
      if (!err.retriable) throw err;
      apply.onRetry(err);
      const retryAfter = isResult(outcome) && outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS) : 0;
      await sleep(Math.max(retryAfter, backoffDelay(attempt, settings.retry.minDelayMs, settings.retry.maxDelayMs)), signal);
      if (signal.aborted) throw stopped(req);
    }
  }

  return {
    name,
    type: 'http',
    async apply(batch, apply) {
      const requests = plan.requests(batch);
      if (requests.length === 0) return { items: 0, requests: 0 };
      // A fatal error in one request stops the others' retries too: the batch is not committed anyway.
      const local = new AbortController();
      const signal = AbortSignal.any([apply.signal, ctx.signal, local.signal]);
      let items = 0;
      let attempts = 0;
      let next = 0;
      let firstError: unknown;
      const worker = async () => {
        while (next < requests.length && firstError === undefined) {
          const req = requests[next++]!;
          try {
            const tries = await sendUntilConfirmed(req, signal, apply);
            attempts += tries;
            items += req.items.length;
            apply.onProgress();
          } catch (err) {
            firstError ??= err;
            local.abort();
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(settings.concurrency, requests.length) }, worker));
      if (firstError !== undefined) throw firstError;
      return { items, requests: attempts };
    },
    down: () => outage,
    detail: () => ({ preset: settings.preset ?? 'custom', inFlight, ...(lastConfirmedAt === undefined ? {} : { lastConfirmedAt: new Date(lastConfirmedAt).toISOString() }) }),
    async stop() {
      sender.close();
    },
  };
}

function isResult(outcome: unknown): outcome is SendResult {
  return typeof outcome === 'object' && outcome !== null && typeof (outcome as SendResult).status === 'number';
}

function stopped(req: PlannedRequest): EvictdError {
  return new EvictdError('HTTP_PURGE_STOPPED', `${req.op} purge ${describeRequest(req)} abandoned: the consumer stopped (the batch stays uncommitted)`, { retriable: true });
}

function httpTargetMetrics(registry: Registry) {
  const existing = <T>(n: string) => registry.getSingleMetric(n) as T | undefined;
  const registers = [registry];
  return {
    requests:
      existing<Counter<'target' | 'op' | 'status'>>('evictd_http_target_requests_total') ??
      new Counter({ name: 'evictd_http_target_requests_total', help: 'HTTP purge requests by target, operation (tags, urls, shape, urlShape) and response status (error: no response)', labelNames: ['target', 'op', 'status'] as const, registers }),
    seconds:
      existing<Histogram<'target' | 'op'>>('evictd_http_target_request_seconds') ??
      new Histogram({ name: 'evictd_http_target_request_seconds', help: 'Duration of one HTTP purge request, by target and operation', labelNames: ['target', 'op'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
  };
}


