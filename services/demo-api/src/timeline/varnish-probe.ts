/**
 * The timeline's HTTP-tier step: from the moment a change is seen, look its key's
 * page up in the Varnish in front of the API every ~20 ms until the object cached before the
 * change is gone (evictd's edge target purged it), for at most `timeoutMs`.
 *
 * The lookups carry `x-demo-probe: lookup`, which the demo's VCL (services/demo-api/demo/
 * varnish-cache.vcl) answers from the cache only: a HIT delivers the cached object, a miss is a
 * 204 without a fetch from the API. So watching Varnish fills nothing, and the page's own read
 * through Varnish after the purge is the one that fetches the fresh value.
 */
import type { TimelineEntry } from './timeline.js';

export const PROBE_HEADER = 'x-demo-probe';
/** The header the demo's VCL sets on every answer (HIT or MISS). */
export const VARNISH_CACHE_HEADER = 'x-varnish-cache';

/** The page Varnish caches for an entry's key: product:6 -> /products/6, category:2 -> /categories/2. */
export function varnishPathOf(key: string | null): string | null {
  const m = /^(product|category):(\d+)$/.exec(key ?? '');
  return m ? `/${m[1] === 'product' ? 'products' : 'categories'}/${m[2]}` : null;
}

/** One lookup's answer: the `x-varnish-cache` header, and `x-varnish` (on a HIT: this request's id, then the object's). */
export interface Lookup {
  cache: string | null;
  xVarnish: string | null;
}

/** What the lookups of one page have shown so far. */
export interface LookupState {
  /** The id of the object the first HIT delivered. */
  objectId: string | null;
  hits: number;
}

export type Verdict = { purged: true; detail: string } | { purged: false; state: LookupState; problem?: string };

/**
 * The next lookup's verdict. Purged: Varnish has no object for the page, or a HIT delivers another
 * object than the first HIT did (someone read the page through Varnish after the purge).
 */
export function judgeLookup(path: string, state: LookupState, answer: Lookup): Verdict {
  const stale = `${state.hits} stale HIT${state.hits === 1 ? '' : 's'}`;
  if (answer.cache === 'MISS') {
    return { purged: true, detail: state.hits === 0 ? `${path} not in Varnish at the first lookup` : `purged ${path} (MISS after ${stale})` };
  }
  if (answer.cache !== 'HIT') return { purged: false, state, problem: `${VARNISH_CACHE_HEADER}: ${answer.cache ?? 'missing'}` };
  const objectId = answer.xVarnish?.trim().split(/\s+/)[1] ?? null;
  if (state.objectId !== null && objectId !== null && objectId !== state.objectId) {
    return { purged: true, detail: `purged ${path} (after ${stale}, already fetched again)` };
  }
  return { purged: false, state: { objectId: state.objectId ?? objectId, hits: state.hits + 1 } };
}

export interface VarnishProbeOptions {
  /** The Varnish's base URL (no trailing slash). */
  url: string;
  everyMs?: number;
  timeoutMs?: number;
  now?: () => number;
  /** Reported once per entry when its page's object is gone from Varnish. */
  onPurged(entryId: number, at: number, detail: string): void;
  /** Reported when an entry's page still answered HIT at the timeout, or Varnish did not answer. */
  onGaveUp?(entryId: number, reason: string): void;
}

export interface VarnishProbe {
  /** Called with every timeline update: starts the lookups of an entry the first time it is noted. */
  noteEntry(entry: TimelineEntry): void;
  stop(): void;
}

const EVERY_MS = 20;
const TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 2_000;
const MAX_STARTED = 1_000;

export function createVarnishProbe(options: VarnishProbeOptions): VarnishProbe {
  const everyMs = options.everyMs ?? EVERY_MS;
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const started = new Set<number>();
  const stopper = new AbortController();

  const lookup = async (path: string): Promise<Lookup> => {
    const res = await fetch(`${options.url}${path}`, {
      headers: { [PROBE_HEADER]: 'lookup' },
      signal: AbortSignal.any([stopper.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    await res.arrayBuffer();
    return { cache: res.headers.get(VARNISH_CACHE_HEADER), xVarnish: res.headers.get('x-varnish') };
  };

  const watch = async (entryId: number, path: string): Promise<void> => {
    const deadline = now() + timeoutMs;
    let state: LookupState = { objectId: null, hits: 0 };
    let lastProblem = '';
    while (!stopper.signal.aborted) {
      try {
        const verdict = judgeLookup(path, state, await lookup(path));
        if (verdict.purged) {
          options.onPurged(entryId, now(), verdict.detail);
          return;
        }
        state = verdict.state;
        if (verdict.problem) lastProblem = verdict.problem;
      } catch (err) {
        if (stopper.signal.aborted) return;
        lastProblem = (err as Error).message;
      }
      if (now() >= deadline) {
        options.onGaveUp?.(entryId, state.hits > 0 ? `${path} still HIT in Varnish after ${timeoutMs} ms` : `no answer from Varnish for ${path}: ${lastProblem}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };

  return {
    noteEntry(entry) {
      if (entry.steps.varnish || started.has(entry.id)) return;
      const path = varnishPathOf(entry.key);
      if (!path) return;
      started.add(entry.id);
      // Entry ids only grow: the oldest ones will not be noted again.
      if (started.size > MAX_STARTED) started.delete(started.values().next().value!);
      void watch(entry.id, path);
    },
    stop() {
      stopper.abort();
    },
  };
}
