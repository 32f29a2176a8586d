/**
 * The L1 store: a bounded LRU of raw Redis values with a per-entry expiry. Pure (the clock is
 * passed in); the tracking that keeps it in step with Redis lives in l1.ts.
 */

export interface LruLimits {
  /** Most entries held (positive integer). */
  maxEntries: number;
  /** Most bytes held, counting each entry's key (UTF-16 length x 2) and value bytes. */
  maxBytes: number;
}

interface Entry {
  value: Buffer;
  expiresAt: number;
  bytes: number;
}

export class LruStore {
  // A Map iterates in insertion order: re-inserting on access keeps the least recent first.
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  /** Entries pushed out by the bounds (not expiry, not invalidation). */
  evictions = 0;

  constructor(private readonly limits: LruLimits) {
    for (const name of ['maxEntries', 'maxBytes'] as const) {
      const v = limits[name];
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`l1.${name} must be a positive integer, got ${String(v)}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The value if held and not expired at `now`; a hit becomes the most recently used. */
  get(key: string, now: number): Buffer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(key, entry);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The unexpired entries, least recently used first, without touching recency (inspection). */
  *live(now: number): IterableIterator<[string, Buffer]> {
    for (const [key, entry] of this.entries) if (entry.expiresAt > now) yield [key, entry.value];
  }

  /**
   * Stores a value until `expiresAt`, evicting the least recently used entries to stay within
   * the bounds. A value bigger than maxBytes on its own is not stored (returns false).
   */
  set(key: string, value: Buffer, expiresAt: number): boolean {
    const bytes = key.length * 2 + value.length;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    if (bytes > this.limits.maxBytes) return false;
    this.entries.set(key, { value, expiresAt, bytes });
    this.totalBytes += bytes;
    while (this.entries.size > this.limits.maxEntries || this.totalBytes > this.limits.maxBytes) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldestKey, oldest);
      this.evictions++;
    }
    return true;
  }

  /** Drops the key; true if it was held. */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.remove(key, entry);
    return true;
  }

  /** Drops everything; returns how many entries were held. */
  clear(): number {
    const n = this.entries.size;
    this.entries.clear();
    this.totalBytes = 0;
    return n;
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}
