import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, waitFor } from '@evictd/infra';
import { evictdProcess, pipelineConfig, waitWhileAlive } from './evictd.js';

// A real evictd child pointed at ports nothing listens on: it stays up, retrying its connections,
// until something ends it.
async function unreachableInvalidator(dir: string) {
  const [pg, kafka, redis, http] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env = { DATABASE_URL: `postgres://evictd@127.0.0.1:${pg}/none`, KAFKA_BROKERS: `127.0.0.1:${kafka}`, REDIS_URL: `redis://127.0.0.1:${redis}` };
  return evictdProcess({ command: 'invalidate', config: pipelineConfig({ env, name: 'death_test', tables: { 'public.t': { keys: ['t:{id}'] } }, httpPort: http }), dir, runtime: 'tsx' });
}

test('a bench wait fails at once, naming the process, when an evictd child dies under it; a stop is no death', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'evictd-death-'));
  const proc = await unreachableInvalidator(dir);
  t.after(async () => {
    await proc.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  proc.spawn();
  const pid = proc.pid!;
  await waitFor(() => fetch(proc.healthUrl).then(() => true), { what: 'the evictd child to answer /healthz (503 while its servers are unreachable)', timeoutMs: 60_000 });
  assert.equal(proc.death, undefined);

  const waiting = waitWhileAlive('work a dead process will never do', () => false, 10 * 60_000, [proc]);
  const began = Date.now();
  process.kill(pid, 'SIGKILL'); // a crash the bench did not ask for (an out-of-memory abort, say)
  await assert.rejects(waiting, (err: Error) => {
    assert.match(err.message, /while waiting for work a dead process will never do: evictd invalidate \(pid \d+\) exited by itself with signal SIGKILL/);
    assert.ok(err.message.includes(proc.logFile), err.message);
    return true;
  });
  assert.ok(Date.now() - began < 60_000, 'the wait ended on the death, not on its ten-minute deadline');

  proc.spawn();
  await waitFor(() => fetch(proc.healthUrl).then(() => true), { what: 'the second child to answer /healthz', timeoutMs: 60_000 });
  assert.equal(proc.death, undefined, 'a new spawn clears the last death');
  await proc.stop(10_000);
  assert.equal(proc.death, undefined, 'a stop the bench asked for is not a death');
  await waitWhileAlive('nothing', () => true, 1_000, [proc]);
});
