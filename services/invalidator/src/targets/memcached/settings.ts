import type { TableRuleConfig } from '../../config/types.js';

/** A `type: memcached` entry of the config's targets, after schema defaults (schemas/config.schema.json#/definitions/memcachedTarget). */
export interface MemcachedTargetSettings {
  readonly type: 'memcached';
  readonly groupId: string;
  /** host:port of every server of the pool; every key is deleted on each of them. */
  readonly servers: readonly string[];
  /** Prepended to every rendered key and version key. */
  readonly keyPrefix: string;
  /** Connect and reply timeout per pipeline; past it the server counts as down and the batch is retried. */
  readonly timeoutMs: number;
  /** refuse: rules with tags stop evictd at start; version-keys: a tag invalidation sets `<keyPrefix>tagv:<tag>` to a new value. */
  readonly tags: 'refuse' | 'version-keys';
  /** Table-wide invalidations (shapes): flush_all on every server, or only log and count. */
  readonly tableWide: 'flush-all' | 'ignore';
}

/**
 * Rules with tags under `tags: refuse`: one problem naming the target and the tables, with the two
 * ways out. Pure, so check-config can report it as well as the invalidator's start.
 */
export function memcachedTagProblem(name: string, settings: Pick<MemcachedTargetSettings, 'tags'>, config: { readonly tables: Readonly<Record<string, TableRuleConfig>>; readonly file: string }): string | null {
  if (settings.tags !== 'refuse') return null;
  const tagged = Object.entries(config.tables).filter(([, rule]) => (rule.tags?.length ?? 0) > 0).map(([table]) => table);
  if (tagged.length === 0) return null;
  return `target ${name} (memcached) cannot invalidate tags, and the rules of ${tagged.join(', ')} in ${config.file} have tags: set targets.${name}.tags: version-keys if the app embeds the version key <keyPrefix>tagv:<tag> in those entries' keys (operator's guide, section Memcached), or remove the tags from those rules`;
}
