/**
 * The live timeline of each row change, from independent observations:
 *   committed    source.ts_ms of the change event (Postgres commit time)
 *   seen         the demo API's own Kafka consumer received the event
 *   invalidated  Redis reported the key deleted, or its invalidation marker written (key was not cached)
 *   miss         the API's next read of the key was a MISS
 *   refilled     Redis reported the key written again (the fenced fill of that read)
 *   varnish      with a Varnish in front: the key's page cached there before the change is gone
 *                (purged by evictd's edge target; lookups only, see varnish-probe.ts)
 * Observations may arrive in any order (evictd can delete before this consumer sees the event), so
 * recent Redis observations are kept and matched when the event arrives. Pure: times are passed in.
 */
import type { ChangeEvent, RowImage } from '@evictd/schemas';
import { cacheKeys } from '../catalog.js';

export const STEPS = ['seen', 'invalidated', 'varnish', 'miss', 'refilled'] as const;
export type StepName = (typeof STEPS)[number];

export interface Step {
  /** Milliseconds since the commit. */
  ms: number;
  detail?: string;
}

export interface TimelineEntry {
  id: number;
  table: string;
  op: ChangeEvent['op'];
  rowId: number | null;
  /** The cache key whose story the entry tells (product:3); null for table-wide events. */
  key: string | null;
  summary: string;
  committedAt: number;
  steps: Partial<Record<StepName, Step>>;
  /** Other cached keys of the change seen deleted (category lists, through their tag). */
  alsoDeleted: string[];
}

export type RedisObservation = { key: string; at: number; kind: 'deleted' | 'marker' | 'written' };

export interface TimelineOptions {
  /** How many entries are kept (and sent to a new page). */
  maxEntries?: number;
  /** How long Redis observations wait for their change event. */
  observationWindowMs?: number;
  /** Called with a copy of every new or changed entry. */
  onUpdate?: (entry: TimelineEntry) => void;
}

const SUMMARY_FIELDS = ['name', 'description', 'price', 'category_id'];
const MAX_OBSERVATIONS = 10_000;

export class Timeline {
  private readonly entries: TimelineEntry[] = [];
  private observations: RedisObservation[] = [];
  /** Secondary keys (category lists) each entry watches for deletion. */
  private readonly related = new Map<number, string[]>();
  private nextId = 1;
  private readonly maxEntries: number;
  private readonly windowMs: number;

  constructor(private readonly options: TimelineOptions = {}) {
    this.maxEntries = options.maxEntries ?? 30;
    this.windowMs = options.observationWindowMs ?? 30_000;
  }

  /** Newest first. */
  snapshot(): TimelineEntry[] {
    return this.entries.map(copy).reverse();
  }

  changeSeen(event: ChangeEvent, at: number): void {
    const { table } = event.source;
    const row = event.after ?? event.before;
    const rowId = row && typeof row.id === 'number' ? row.id : null;
    const { key, related } = keysOf(table, rowId, event.before, event.after);
    const entry: TimelineEntry = {
      id: this.nextId++,
      table,
      op: event.op,
      rowId,
      key,
      summary: summarize(table, event),
      committedAt: event.source.ts_ms,
      steps: { seen: { ms: at - event.source.ts_ms } },
      alsoDeleted: [],
    };
    this.entries.push(entry);
    this.related.set(entry.id, related);
    while (this.entries.length > this.maxEntries) this.related.delete(this.entries.shift()!.id);
    // Redis may have been faster than this consumer: replay what it already reported.
    for (const obs of this.observations) this.apply(entry, obs);
    this.emit(entry);
  }

  /** A keyspace notification: a cache key deleted or written, or an invalidation marker written. */
  redisObserved(obs: RedisObservation): void {
    this.observations = this.observations.filter((o) => o.at >= obs.at - this.windowMs);
    // Bounded under bursts of writes too: the oldest are the least likely to be matched.
    if (this.observations.length >= MAX_OBSERVATIONS) this.observations.shift();
    this.observations.push(obs);
    for (const entry of this.entries) if (this.apply(entry, obs)) this.emit(entry);
  }

  /** A read served by this API. */
  readServed(key: string, outcome: 'HIT' | 'MISS' | 'DEGRADED', at: number): void {
    if (outcome !== 'MISS') return;
    for (const entry of this.entries) {
      if (entry.key === key && entry.steps.invalidated && !entry.steps.miss) {
        entry.steps.miss = { ms: at - entry.committedAt };
        this.emit(entry);
      }
    }
  }

  /** The HTTP tier: the entry's page was purged from Varnish (once per entry; the first report counts). */
  varnishObserved(entryId: number, at: number, detail: string): void {
    const entry = this.entries.find((e) => e.id === entryId);
    if (!entry || entry.steps.varnish) return;
    entry.steps.varnish = { ms: at - entry.committedAt, detail };
    this.emit(entry);
  }

  private apply(entry: TimelineEntry, obs: RedisObservation): boolean {
    if (obs.at < entry.committedAt) return false;
    const { steps } = entry;
    if (obs.key === entry.key) {
      if (obs.kind === 'written') {
        if (!steps.miss || steps.refilled) return false;
        steps.refilled = { ms: obs.at - entry.committedAt };
        return true;
      }
      if (steps.invalidated) return false;
      // Both come from one atomic script, the deletion first: a marker alone means nothing was cached.
      const detail = obs.kind === 'deleted' ? `deleted ${obs.key}` : `marker written (${obs.key} was not cached)`;
      steps.invalidated = { ms: obs.at - entry.committedAt, detail };
      return true;
    }
    if (obs.kind === 'deleted' && this.related.get(entry.id)?.includes(obs.key) && !entry.alsoDeleted.includes(obs.key)) {
      entry.alsoDeleted.push(obs.key);
      return true;
    }
    return false;
  }

  private emit(entry: TimelineEntry): void {
    this.options.onUpdate?.(copy(entry));
  }
}

function copy(entry: TimelineEntry): TimelineEntry {
  return { ...entry, steps: { ...entry.steps }, alsoDeleted: [...entry.alsoDeleted] };
}

/** The keys this API caches for a row: the row's own key, and the category lists it appears in. */
export function keysOf(table: string, rowId: number | null, before: RowImage | null, after: RowImage | null): { key: string | null; related: string[] } {
  if (rowId === null) return { key: null, related: [] };
  if (table === 'products') {
    const categories = new Set([before?.category_id, after?.category_id].filter((c): c is number => typeof c === 'number'));
    return { key: cacheKeys.product(rowId), related: [...categories].map(cacheKeys.categoryProducts) };
  }
  if (table === 'categories') return { key: cacheKeys.category(rowId), related: [cacheKeys.categoryProducts(rowId)] };
  return { key: null, related: [] };
}

/** One line for humans: what changed in the row. */
export function summarize(table: string, event: ChangeEvent): string {
  const { before, after, op } = event;
  const id = (after ?? before)?.id;
  const row = id === undefined ? table : `${table} #${String(id)}`;
  if (op === 't') return `${table} truncated`;
  if (op === 'c') return `${row} inserted`;
  if (op === 'd') return `${row} deleted`;
  const changes = SUMMARY_FIELDS.filter((f) => after && f in after && before && f in before && before[f] !== after[f]).map(
    (f) => `${f.replace('_', ' ')} ${show(before?.[f])} → ${show(after?.[f])}`,
  );
  return changes.length > 0 ? `${row}: ${changes.join(', ')}` : `${row} updated`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
