// Redis killed (SIGKILL) and restarted in the middle of 10,000 updates: afterwards no key an
// update maps to still holds the value written before that update. The Redis here is private to
// this file and keeps an fsync-always append-only file, so a restart brings back exactly what it
// acknowledged: keys the invalidator did not get confirmed deletions for come back, and must
// then be deleted. (The stack's Redis has no persistence: a restart would empty it and hide a skip.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Producer } from 'kafkajs';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import type { Role } from '../../services/invalidator/src/roles/role.js';
import { changeEvent, countExisting, invalidatorConfig, startInvalidator, testKafka, waitCommittedToEnd } from './invalidate-helpers.js';

const UPDATES = 10_000;
const env = stackEnv();
const ns = uniqueName('inv_restart');
const dir = mkdtempSync(join(tmpdir(), 'evictd-inv-redis-'));
let port: number;
let server: ChildProcess | undefined;
let redis: Redis;
let producer: Producer;
let role: Role | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function startRedis(): Promise<void> {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
  await waitFor(async () => (await redis.ping().catch(() => null)) === 'PONG', { timeoutMs: 20_000, what: 'private redis-server answering' });
}

async function killRedis(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

before(async () => {
  port = await freePort();
  redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => {}); // expected while the server is down
  await startRedis();
  producer = testKafka(env).producer();
  await producer.connect();
});

after(async () => {
  await role?.stop();
  await producer.disconnect();
  redis.disconnect();
  await killRedis();
  rmSync(dir, { recursive: true, force: true });
});

const key = (id: number) => `${ns}:product:${id}`;
const topic = `${ns}.public.products`;

const allKeys = Array.from({ length: UPDATES }, (_, id) => key(id));
const remaining = () => countExisting(redis, allKeys);

async function sendUpdates(from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += 500) {
    const ids = Array.from({ length: Math.min(500, to - start) }, (_, j) => start + j);
    await producer.send({
      topic,
      acks: -1,
      messages: ids.map((id) => ({
        key: JSON.stringify({ id }),
        value: JSON.stringify(changeEvent('u', 'public.products', { id, name: 'old', price: '1', category_id: 1 }, { id, name: 'new', price: '1', category_id: 1 })),
      })),
    });
  }
}

test('no update is skipped while Redis is down: every key written before its update is gone after the restart', async () => {
  // The cached values, written before the updates.
  for (let i = 0; i < UPDATES; i += 1000) {
    await redis.mset(...Array.from({ length: Math.min(1000, UPDATES - i) }, (_, j) => [key(i + j), 'before-update']).flat());
  }
  const config = invalidatorConfig({ ...env, REDIS_URL: `redis://127.0.0.1:${port}` }, ns);
  const started = await startInvalidator(config);
  role = started.role;

  await sendUpdates(0, 3_000);
  await waitFor(async () => (await remaining()) < UPDATES - 1_000, { timeoutMs: 60_000, what: 'the invalidator deleting the first keys' });
  await killRedis();
  await sendUpdates(3_000, UPDATES);
  // The invalidator hit the outage and is retrying (not skipping).
  await waitFor(async () => /evictd_invalidate_redis_retries_total \d*[1-9]/.test(await started.metrics()), { timeoutMs: 30_000, what: 'Redis retries' });
  assert.equal(role.health().ok, false, 'health reports Redis down');

  // Keys of the 7,000 updates sent during the outage come back from the append-only file.
  await startRedis();
  await waitFor(async () => (await remaining()) === 0, { timeoutMs: 120_000, what: 'every updated key deleted after the restart' });

  // Everything applied was committed, up to the end of each partition.
  await waitCommittedToEnd(testKafka(env), config.invalidate.groupId, topic);
  assert.equal(role.health().ok, true);
});
