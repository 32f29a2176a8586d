/** Helpers for integration tests run by `npm test` (test/run.ts), which exports the stack's addresses. */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { externalStackEnv, waitFor, type StackEnv } from '@evictd/infra';

export { waitFor, type WaitOptions } from '@evictd/infra';
export type { StackEnv };

/** DATABASE_URL, KAFKA_BROKERS, REDIS_URL of the running stack; a clear error when run outside the runner. */
export function stackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  const found = externalStackEnv(env);
  if (!found) {
    throw new Error(
      'integration test needs DATABASE_URL, KAFKA_BROKERS and REDIS_URL: run it through `npm test -- <file>` ' +
        '(starts a local stack), or start one with `npm run stack` and export the three lines it prints',
    );
  }
  return found;
}

let counter = 0;

/**
 * A name unique to this process and call, usable unquoted as a Postgres identifier (lowercase,
 * starts with a letter, at most 63 bytes), a Kafka topic or group id, and a Redis key prefix.
 */
export function uniqueName(prefix: string): string {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(prefix)) {
    throw new Error(`uniqueName prefix ${JSON.stringify(prefix)}: use 1-40 of [a-z0-9_], starting with a letter`);
  }
  counter += 1;
  return `${prefix}_${process.pid.toString(36)}${counter.toString(36)}_${randomBytes(4).toString('hex')}`;
}

/**
 * Drops a test's slot once its walsender has let go of it (a stopped replication client's server
 * process can take a while to exit on a busy machine; dropping an active slot fails with 55006).
 * Tests may drop slots; evictd never does.
 */
export async function dropSlot(db: pg.Client, slot: string): Promise<void> {
  await waitFor(async () => {
    const { rows } = await db.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (rows.length === 0) return true;
    if (rows[0]!.active) return false;
    await db.query('SELECT pg_drop_replication_slot($1)', [slot]); // 55006 if taken again meanwhile: the next check retries
    return true;
  }, { timeoutMs: 120_000, what: `slot ${slot} to be released and dropped` });
}

/** What a publishing test leaves in Postgres (its slot, publication and table, all named after `ns`), dropped; then the client ends. */
export async function dropPipeline(db: pg.Client, ns: string, table: string): Promise<void> {
  await dropSlot(db, ns);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
}
