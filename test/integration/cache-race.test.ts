// The race of DESIGN.md guarantee 3 on real Postgres and Redis: a reader loads a row, a writer
// commits and invalidates while the reader is between its read and its fill. Naive cache-aside
// (GET / SET) keeps the old value after quiescence; packages/cache's fenced fills keep none.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createKeyRegistry, createRedisLayout, type RedisLayout } from '@evictd/schemas';
import { createCache, invalidateKeysAndTags } from '@evictd/cache';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';

const ROWS = 12;
const READERS = 16;
const WRITERS = 4;
const RACES_PER_WRITER = 12;
/** Injected between the database read and the fill: wide enough for a writer's commit + invalidation. */
const FILL_DELAY_MS = 150;

let redis: Redis;
let pool: pg.Pool;
const table = uniqueName('cache_race');

before(async () => {
  const env = stackEnv();
  redis = new Redis(env.REDIS_URL);
  pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: READERS + WRITERS });
  await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, version int NOT NULL)`);
});

after(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
  await redis.quit();
});

/** How the readers fill: given a key and a loader that reads the row, return the row's version. */
type ReadThrough = (key: string, tags: string[], load: () => Promise<string>) => Promise<string>;

interface Outcome {
  stale: number;
  cached: number;
  /** The rows of this run. */
  ids: number[];
}

/**
 * Phase 1: readers read random rows through the cache while each writer repeatedly picks a row,
 * commits a version bump (evicting it), waits until some reader has read the row from Postgres
 * and is between read and fill, then commits again and invalidates exactly as the invalidator
 * would. Phase 2 ends the run with that race on every row at once, so the final state does not
 * depend on which reader happened to fill last. After quiescence every row is read once more
 * through the cache; a cached version that differs from the row's is stale.
 */
async function runWorkload(name: string, layout: RedisLayout, readThrough: ReadThrough, settle?: () => Promise<void>): Promise<Outcome> {
  const first = (await pool.query<{ base: number }>(`SELECT coalesce(max(id), 0) + 1 AS base FROM ${table}`)).rows[0]!.base;
  const ids = Array.from({ length: ROWS }, (_, i) => first + i);
  await pool.query(`INSERT INTO ${table} (id, version) SELECT g, 0 FROM unnest($1::int[]) AS g`, [ids]);
  const keyOf = (id: number) => `${layout.keyPrefix}${name}:item:${id}`;
  const tagsOf = (id: number) => [`group:${id % 3}`];
  const inDelay = new Map<number, number>(); // readers between read and fill, per row
  // Racing writers per row: a reader of the row fills only once their commit and invalidation are
  // done, so the race happens however slow a busy machine makes the write (a fixed delay alone
  // would let the fill win and the race go unobserved).
  const racing = new Map<number, Set<Promise<void>>>();
  let writersDone = false;

  const readRow = async (id: number): Promise<string> => {
    const { rows } = await pool.query<{ version: number }>(`SELECT version FROM ${table} WHERE id = $1`, [id]);
    inDelay.set(id, (inDelay.get(id) ?? 0) + 1);
    await sleep(FILL_DELAY_MS); // the injected delay between read and fill
    await Promise.all(racing.get(id) ?? []);
    inDelay.set(id, inDelay.get(id)! - 1);
    return String(rows[0]!.version);
  };
  const writeRow = async (id: number) => {
    await pool.query(`UPDATE ${table} SET version = version + 1 WHERE id = $1`, [id]);
    await invalidateKeysAndTags(redis, { keys: [keyOf(id)], tags: tagsOf(id) }, layout);
    // With L1: until the readers' L1 applied the drop (milliseconds), a read may still hit the old
    // entry and phase 2's read would not load; settle waits for it, as a barrier.
    await settle?.();
  };
  const raceWrite = async (id: number) => {
    let finished!: () => void;
    const write = new Promise<void>((resolve) => (finished = resolve));
    const set = racing.get(id) ?? new Set();
    racing.set(id, set.add(write));
    try {
      // Readers load only on a miss, and a fill (a stale one, in the naive case) may have cached the
      // row again since the last write: evict it until a reader is between read and fill.
      await waitFor(async () => {
        if ((inDelay.get(id) ?? 0) > 0) return true;
        await redis.unlink(keyOf(id));
        return false;
      }, { timeoutMs: 120_000, intervalMs: 5, what: `a reader of row ${id} between read and fill` });
      await writeRow(id);
    } finally {
      set.delete(write);
      finished();
    }
  };
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;

  const readers = Array.from({ length: READERS }, async () => {
    while (!writersDone) {
      const id = pick();
      await readThrough(keyOf(id), tagsOf(id), () => readRow(id));
      await sleep(1); // yield; readers are load, not synchronisation
    }
  });
  const writers = Array.from({ length: WRITERS }, async () => {
    for (let i = 0; i < RACES_PER_WRITER; i++) {
      const id = pick();
      await writeRow(id);
      await raceWrite(id);
    }
  });
  await Promise.all(writers);
  writersDone = true;
  await Promise.all(readers);

  await Promise.all(
    ids.map(async (id) => {
      await writeRow(id);
      const read = readThrough(keyOf(id), tagsOf(id), () => readRow(id));
      await raceWrite(id);
      await read;
    }),
  );
  for (const id of ids) await readThrough(keyOf(id), tagsOf(id), () => readRow(id));

  const { rows } = await pool.query<{ id: number; version: number }>(`SELECT id, version FROM ${table} WHERE id = ANY($1::int[])`, [ids]);
  let stale = 0;
  let cached = 0;
  for (const row of rows) {
    const value = await redis.get(keyOf(row.id));
    if (value === null) continue;
    cached++;
    if (value !== String(row.version)) stale++;
  }
  return { stale, cached, ids };
}

test('under an injected read-to-fill delay naive cache-aside goes stale, fenced fills stay at zero', async () => {
  const naiveLayout = createRedisLayout({ keyPrefix: `${uniqueName('cache_race')}:` });
  const naive = await runWorkload('naive', naiveLayout, async (key, _tags, load) => {
    const hit = await redis.get(key);
    if (hit !== null) return hit;
    const value = await load();
    await redis.set(key, value, 'PX', 60_000);
    return value;
  });

  const cache = createCache({ redis, layout: createRedisLayout({ keyPrefix: `${uniqueName('cache_race')}:` }), registry: createKeyRegistry({}), defaultTtlMs: 60_000 });
  const fenced = await runWorkload('fenced', cache.layout, (key, tags, load) => cache.getOrLoad(key, load, { tags }));
  const stats = cache.stats();

  console.log(
    `race: stale entries after quiescence: naive cache-aside ${naive.stale} (of ${naive.cached} cached), ` +
      `fenced fills ${fenced.stale} (of ${fenced.cached} cached); fenced stats ${JSON.stringify(stats)}`,
  );
  assert.ok(naive.stale > 0, 'naive cache-aside should have gone stale under the injected delay');
  assert.equal(fenced.stale, 0);
  assert.ok(stats.fills > 0, 'fenced readers filled the cache');
  assert.ok(stats.fillRejected.invalidated > 0, 'markers refused fills that raced a commit');
});

test('the same race with L1 on: no stale value in either tier, L1 or Redis', async () => {
  const layout = createRedisLayout({ keyPrefix: `${uniqueName('cache_race')}:` });
  const cache = createCache({ redis, layout, registry: createKeyRegistry({}), defaultTtlMs: 60_000, l1: { ttlMs: 60_000 } });
  try {
    await cache.l1!.whenTracking(10_000);
    const redisTier = await runWorkload('l1', layout, (key, tags, load) => cache.getOrLoad(key, load, { tags }), async () => {
      await cache.invalidate({});
    });
    const keyOf = (id: number) => `${layout.keyPrefix}l1:item:${id}`;
    const idOf = (key: string) => Number(key.slice(key.lastIndexOf(':') + 1));
    const readAll = async () => {
      for (const id of redisTier.ids) {
        const load = async () => String((await pool.query<{ version: number }>(`SELECT version FROM ${table} WHERE id = $1`, [id])).rows[0]!.version);
        // A miss fills Redis, a Redis hit after it enters L1; a read still in flight when the fill's
        // own invalidation message arrives is not stored (rule 3 of l1.ts), so read until it is.
        const held = () => cache.l1!.entries().some(([k]) => k === keyOf(id));
        for (let i = 0; i < 10 && !held(); i++) await cache.getOrLoad(keyOf(id), load, { tags: [`group:${id % 3}`] });
      }
    };
    /** Every L1 entry of the readers' cache against its row, after a barrier (not a wait). */
    const checkL1 = async () => {
      // Resolves once L1 applied every invalidation Redis sent before it.
      await cache.invalidate({});
      const entries = cache.l1!.entries();
      const { rows } = await pool.query<{ id: number; version: number }>(`SELECT id, version FROM ${table} WHERE id = ANY($1::int[])`, [entries.map(([k]) => idOf(k))]);
      const version = new Map(rows.map((r) => [r.id, String(r.version)]));
      return { held: entries.length, stale: entries.filter(([key, value]) => value.toString() !== version.get(idOf(key))).length };
    };
    const afterRace = await checkL1();
    // Then with every row in L1: a commit per row, invalidated by key for half the rows and by tag
    // (members only Redis knows) for the other half, as the invalidator does.
    await readAll();
    const filled = cache.l1!.entries().length;
    await pool.query(`UPDATE ${table} SET version = version + 1 WHERE id = ANY($1::int[])`, [redisTier.ids]);
    const byKey = redisTier.ids.filter((id) => id % 2 === 0);
    const groups = [...new Set(redisTier.ids.filter((id) => id % 2 === 1).map((id) => `group:${id % 3}`))];
    await invalidateKeysAndTags(redis, { keys: byKey.map(keyOf), tags: groups }, layout);
    const afterCommit = await checkL1();
    await readAll();
    const reread = await checkL1();
    const stats = cache.stats();
    console.log(
      `race with L1: stale after quiescence: L1 ${afterRace.stale} (of ${afterRace.held} held), Redis ${redisTier.stale} (of ${redisTier.cached} cached); ` +
        `after a commit to every row held in L1 (${filled}): L1 stale ${afterCommit.stale} (of ${afterCommit.held} held); re-read: L1 stale ${reread.stale} (of ${reread.held}); ` +
        `l1Hits ${stats.l1Hits}, hits ${stats.hits}, fills ${stats.fills}, refused ${stats.fillRejected.invalidated}, L1 drops ${stats.l1!.drops}, ` +
        `skipped in flight ${stats.l1!.storeSkipped['invalidated-in-flight']}`,
    );
    assert.equal(redisTier.stale, 0, 'Redis tier');
    for (const [name, r] of [['after the race', afterRace], ['after the commits', afterCommit], ['after re-reading', reread]] as const) assert.equal(r.stale, 0, `L1 tier ${name}`);
    assert.equal(filled, redisTier.ids.length, 'every row was held in L1 before the commits (the check looked at something)');
    assert.equal(reread.held, redisTier.ids.length);
    assert.ok(stats.l1!.drops >= redisTier.ids.length, 'the invalidations dropped the entries');
  } finally {
    await cache.close();
  }
});
