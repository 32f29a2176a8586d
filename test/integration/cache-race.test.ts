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
}

/**
 * Phase 1: readers read random rows through the cache while each writer repeatedly picks a row,
 * commits a version bump (evicting it), waits until some reader has read the row from Postgres
 * and is between read and fill, then commits again and invalidates exactly as the invalidator
 * would. Phase 2 ends the run with that race on every row at once, so the final state does not
 * depend on which reader happened to fill last. After quiescence every row is read once more
 * through the cache; a cached version that differs from the row's is stale.
 */
async function runWorkload(name: string, layout: RedisLayout, readThrough: ReadThrough): Promise<Outcome> {
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
  return { stale, cached };
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
