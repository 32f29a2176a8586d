/** The fault test's verdict: which cached values differ from the database after quiescence. Pure. */

export interface StaleEntry {
  key: string;
  cached: string;
  /** The database's value; null when the row no longer exists. */
  expected: string | null;
}

/**
 * `cached` holds what Redis returned for each checked key (null: not cached, which is never stale);
 * `truth` what the database holds for the same keys.
 */
export function findStale(cached: ReadonlyMap<string, string | null>, truth: ReadonlyMap<string, string>): StaleEntry[] {
  const stale: StaleEntry[] = [];
  for (const [key, value] of cached) {
    if (value === null) continue;
    const expected = truth.get(key) ?? null;
    if (value !== expected) stale.push({ key, cached: value, expected });
  }
  return stale;
}
