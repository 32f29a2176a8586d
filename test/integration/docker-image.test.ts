/**
 * `docker compose up` without Docker. Both images are built natively from infra/docker/Dockerfile
 * (test/docker/native-build.ts: same stages, same npm ci, same copied files, no dev tooling at
 * run time), then evictd-publish, evictd-invalidate and demo-api are started from those builds
 * as compose starts them (entrypoint + command, the containers' environment and mounted config),
 * against the local stack and a database initialised by the postgres container's scripts. Through
 * the demo API: a product is cached, edited, and the edit shows once evictd invalidated it.
 * Addresses and names differ from the compose file only where they must: the stack's servers
 * instead of the compose hosts, free ports, and names unique to this run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { parseDocument } from 'yaml';
import { REPO_ROOT, environmentOf, flagValue, readCompose, service, type ComposeService } from '../docker/compose-file.js';
import { createDemoDatabase, type DemoDatabase } from '../docker/demo-database.js';
import { buildNative, type NativeImage } from '../docker/native-build.js';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { spawnNode } from '../support/process.js';
import { dropSlot } from './publish-helpers.js';
import { deleteTopicsWithPrefix } from '../docker/topics.js';

const env = stackEnv();
const ns = uniqueName('dockimg');
const compose = readCompose();
const buildDir = mkdtempSync(join(tmpdir(), 'evictd-native-build-'));
const cleanups: (() => Promise<unknown>)[] = [];
let images: Record<string, NativeImage>;
let db: DemoDatabase;

interface Running {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** The first JSON log line whose msg is `msg`; fails early if the process exits. */
  logLine: (msg: string) => Promise<Record<string, unknown>>;
}

/** Starts a compose service from its natively built image: entrypoint + command, env, nothing of this process. */
function startService(name: string, svc: ComposeService, overrides: Record<string, string>): Running {
  const target = svc.build?.target ?? '';
  const image = images[target];
  assert.ok(image, `${name}: image ${target} was not built`);
  const [program, ...entryArgs] = image.entrypoint;
  assert.equal(program, 'node');
  const args = [...entryArgs, ...(svc.command ?? image.cmd)].map((arg) => (arg.startsWith('/etc/') ? join(image.root, arg) : arg));
  const { child, output, exited, gone } = spawnNode(args, {
    cwd: image.workdir,
    env: { PATH: process.env.PATH, ...image.env, ...environmentOf(svc), ...overrides },
  });
  const running: Running = {
    name,
    child,
    output,
    exited,
    logLine: (msg) =>
      waitFor(
        () => {
          if (gone()) throw new Error(`${name} exited early:\n${output()}`);
          for (const line of output().split('\n')) {
            if (!line.startsWith('{') || !line.endsWith('}')) continue; // the last line may still be arriving
            const entry = JSON.parse(line) as Record<string, unknown>;
            if (entry.msg === msg) return entry;
          }
          return undefined;
        },
        { timeoutMs: 90_000, what: `${name} to log "${msg}"`, stopOnError: true },
      ),
  };
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return running;
}

before(
  async () => {
    cleanups.push(async () => rmSync(buildDir, { recursive: true, force: true }));
    images = buildNative(['evictd', 'demo-api'], buildDir);
    db = await createDemoDatabase(env, ns);
    cleanups.push(() => db.drop());
    await db.initialize();
  },
  { timeout: 15 * 60_000 },
);

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error('cleanup:', err));
});

test('the evictd image holds production dependencies only and its CLI runs without dev tooling', async () => {
  const image = images.evictd!;
  for (const dev of ['typescript', 'tsx', 'eslint', 'dockerfile-ast', 'testcontainers', 'playwright-core']) {
    assert.ok(!existsSync(join(image.workdir, 'node_modules', dev)), `the evictd image contains ${dev}, which only development and tests use`);
  }
  assert.ok(!existsSync(join(image.workdir, 'services/demo-api/dist')), 'the evictd image carries the demo API');
  assert.equal(image.user, 'node');
  const help = spawn(process.execPath, [...image.entrypoint.slice(1), '--help'], { cwd: image.workdir, env: { PATH: process.env.PATH, ...image.env } });
  let text = '';
  help.stdout.on('data', (d: Buffer) => (text += d.toString()));
  const code = await new Promise<number | null>((done) => help.once('exit', done));
  assert.equal(code, 0);
  assert.match(text, /usage: evictd <command> --config FILE/);
});

test('compose up, natively: the built services start in order, an edit through the demo API is invalidated, SIGTERM exits 0', async () => {
  // The config mounted at /etc/evictd/evictd.yaml, with a free metrics port: both evictd
  // services run on one host here, where the containers would each have their own 9464.
  const publisherSvc = service(compose, 'evictd-publish');
  const mounted = flagValue(publisherSvc.command ?? [], '--config') ?? '';
  const configInImage = join(images.evictd!.root, mounted);
  const doc = parseDocument(readFileSync(resolve(REPO_ROOT, 'infra/docker/evictd.yaml'), 'utf8'));
  doc.setIn(['http', 'port'], 0);
  mkdirSync(dirname(configInImage), { recursive: true });
  writeFileSync(configInImage, doc.toString());

  const names = { EVICTD_TOPIC_PREFIX: ns, EVICTD_KEY_PREFIX: `${ns}:`, EVICTD_SLOT: ns, EVICTD_GROUP_ID: ns };
  const evictdEnv = { ...names, DATABASE_URL: db.url(db.evictdUser), KAFKA_BROKERS: env.KAFKA_BROKERS, REDIS_URL: env.REDIS_URL, EVICTD_HTTP_HOST: '127.0.0.1' };
  cleanups.push(async () => {
    const admin = new pg.Client({ connectionString: env.DATABASE_URL });
    await admin.connect();
    await dropSlot(admin, ns).finally(() => admin.end());
    await deleteTopicsWithPrefix(env, ns);
  });

  const publisher = startService('evictd-publish', publisherSvc, evictdEnv);
  await publisher.logLine('replication session started');
  const invalidator = startService('evictd-invalidate', service(compose, 'evictd-invalidate'), evictdEnv);
  const { http } = await invalidator.logLine('evictd running');
  await waitFor(async () => (await fetch(`${String(http)}/healthz`, { signal: AbortSignal.timeout(5_000) })).ok, { timeoutMs: 60_000, what: 'evictd-invalidate /healthz' });

  const demo = startService('demo-api', service(compose, 'demo-api'), {
    ...names,
    DATABASE_URL: db.url(db.appUser),
    KAFKA_BROKERS: env.KAFKA_BROKERS,
    REDIS_URL: env.REDIS_URL,
    HOST: '127.0.0.1',
    PORT: '0',
  });
  const base = String((await demo.logLine('demo API listening')).listen);
  assert.equal((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(15_000) })).status, 200);
  const page = await fetch(`${base}/`, { signal: AbortSignal.timeout(15_000) });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);

  const product = async () => {
    const res = await fetch(`${base}/products/1`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 200);
    return { cache: res.headers.get('x-cache')?.toLowerCase(), body: (await res.json()) as { name: string } };
  };
  await product();
  assert.equal((await product()).cache, 'hit', 'the second read comes from Redis');
  const renamed = `Renamed ${ns}`.slice(0, 100);
  const put = await fetch(`${base}/products/1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: renamed }), signal: AbortSignal.timeout(15_000) });
  assert.equal(put.status, 200);
  // The API never touches the cache on writes: only evictd's invalidation can make this true.
  await waitFor(async () => (await product()).body.name === renamed, { timeoutMs: 60_000, what: 'the edit to show through the cache' });

  for (const running of [demo, invalidator, publisher]) {
    running.child.kill('SIGTERM');
    // Bounded: a process that does not stop fails here with its output, not as a silent file timeout.
    const code = await Promise.race([running.exited, sleep(60_000).then(() => 'still running 60 s after SIGTERM')]);
    assert.equal(code, 0, `${running.name} on SIGTERM:\n${running.output().slice(-3000)}`);
  }
});
