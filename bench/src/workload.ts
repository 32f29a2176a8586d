/**
 * The write side of the benchmark: a table of rows whose cache key is `<keyPrefix><id>`, and a
 * load generator that commits single-row transactions at a fixed offered rate.
 */
import type { Pool } from 'pg';
import type { Commit } from './landing.js';

export interface BenchTable {
  /** schema.table */
  name: string;
  /** Cache key of row `id` under the benchmark's rule (`keys: ["<keyPrefix>{id}"]`). */
  key(id: number): string;
}

export function benchTable(name: string, keyPrefix: string): BenchTable {
  if (!/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`table must be schema.table in lower case, got ${name}`);
  return { name, key: (id) => `${keyPrefix}${id}` };
}

/** (Re)creates the table with rows 1..rows. Rows exist before evictd's slot does, so they are not replayed. */
export async function createTable(pool: Pool, table: BenchTable, rows: number): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${table.name}`);
  await pool.query(`CREATE TABLE ${table.name} (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, pad text NOT NULL)`);
  // A pad makes a change event about the size of a typical small row (~300 bytes of JSON).
  await pool.query(`INSERT INTO ${table.name} (id, pad) SELECT g, repeat('x', 64) FROM generate_series(1, $1::int) g`, [rows]);
  await pool.query(`VACUUM ANALYZE ${table.name}`);
}

/** Wall-clock milliseconds with sub-millisecond resolution (the same clock Postgres's clock_timestamp() reads). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface PacedRun {
  commits: Commit[];
  seconds: number;
  achievedPerSec: number;
}

/**
 * Open-loop load: transaction i is due at start + i / rate, whatever happened to earlier ones, so a
 * slow pipeline cannot slow the offered load down (no coordinated omission). `connections` workers
 * take the next due transaction; if all are busy, transactions start late and `achievedPerSec` shows it.
 * The commit time is the server's clock_timestamp() inside the single-statement transaction, taken
 * just before its commit record: at most a few microseconds before the `source.ts_ms` evictd reports.
 */
export async function pacedUpdates(pool: Pool, table: BenchTable, ids: readonly number[], ratePerSec: number, connections: number): Promise<PacedRun> {
  if (!(ratePerSec > 0)) throw new RangeError(`rate must be positive, got ${ratePerSec}`);
  const sql = `UPDATE ${table.name} SET v = v + 1 WHERE id = $1 RETURNING extract(epoch from clock_timestamp()) * 1000 AS t`;
  const commits: Commit[] = new Array(ids.length);
  const intervalMs = 1000 / ratePerSec;
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    const client = await pool.connect();
    try {
      for (let i = next++; i < ids.length; i = next++) {
        const wait = start + i * intervalMs - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const id = ids[i]!;
        // Named per table: a pool's connections keep the statement, and scenarios share the pool.
        const { rows } = await client.query<{ t: string }>({ text: sql, values: [id], name: `bench-update-${table.name}` });
        if (rows.length !== 1) throw new Error(`row ${id} of ${table.name} is missing: the benchmark table was not filled`);
        commits[i] = { key: table.key(id), commitMs: Number(rows[0]!.t) };
      }
    } finally {
      client.release();
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { commits, seconds, achievedPerSec: ids.length / seconds };
}

/** Updates rows [from, to] in transactions of `perTxn` rows over `connections` connections; returns commits/s. */
export async function bulkUpdates(pool: Pool, table: BenchTable, from: number, to: number, perTxn: number, connections: number): Promise<{ seconds: number }> {
  const start = performance.now();
  let next = from;
  const worker = async () => {
    for (let lo = next; lo <= to; lo = next) {
      next = lo + perTxn;
      await pool.query(`UPDATE ${table.name} SET v = v + 1 WHERE id BETWEEN $1 AND $2`, [lo, Math.min(lo + perTxn - 1, to)]);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return { seconds: (performance.now() - start) / 1000 };
}
