// The exit codes the operator's guide documents, /healthz from the first second (503 with the reason
// while start-up waits), Redis outages in the invalidator's health, and check-config refusing what
// start-up refuses, with the same message. Every case runs the real CLI against the real stack.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import pg from 'pg';
import { freePort } from '@evictd/infra';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { runCli, spawnCli, writeTempConfig, type CapturedProcess } from '../support/process.js';

const env = stackEnv();
const ns = uniqueName('cli_exit');
const table = `${ns}_products`;
const role = `${ns}_app`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const running: CapturedProcess[] = [];

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
  // May replicate and read, but owns nothing: it cannot create the publication.
  await db.query(`CREATE ROLE ${role} LOGIN REPLICATION PASSWORD 'pw'`);
  await db.query(`GRANT SELECT ON ${table} TO ${role}`);
});

after(async () => {
  for (const proc of running) if (!proc.gone()) proc.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`DROP OWNED BY ${role}`).catch(() => undefined);
  await db.query(`DROP ROLE IF EXISTS ${role}`);
  await db.end();
});

function yaml(options: { createPublication?: boolean; keys?: string; http?: number } = {}): string {
  return `
postgres: { slot: ${ns}, publication: ${ns}, createPublication: ${options.createPublication ?? true} }
kafka: { topicPrefix: ${ns}, partitions: 1 }
redis: { keyPrefix: "${ns}:" }
invalidate: { groupId: ${ns}_group, deadLetterTopic: ${ns}.dlq }
http: { port: ${options.http ?? 0} }
log: { level: info }
tables:
  public.${table}: { keys: [${options.keys ?? `"${ns}:p:{id}"`}] }
`;
}

const asRole = (password: string) => ({ ...env, DATABASE_URL: env.DATABASE_URL.replace('postgres@', `${role}:${password}@`) });

/** The fatal line's message, which must be there (JSON logs). */
function fatal(output: string): string {
  const line = output.split('\n').find((l) => l.includes('"level":60'));
  assert.ok(line, `no fatal log line in:\n${output}`);
  return (JSON.parse(line) as { msg: string }).msg;
}

test('usage and config errors exit 2, naming the setting and never the password', async () => {
  const file = writeTempConfig(yaml());
  assert.equal((await runCli([], env)).code, 2, 'no command');
  assert.equal((await runCli(['frobnicate', '--config', file], env)).code, 2, 'unknown command');
  assert.equal((await runCli(['publish'], env)).code, 2, 'no --config');
  assert.equal((await runCli(['check-config', '--role', 'nope', '--config', file], env)).code, 2, 'bad --role');
  assert.equal((await runCli(['--help'], env)).code, 0, '--help');

  const badUrl = await runCli(['publish', '--config', file], { ...env, DATABASE_URL: 'postgres://u:s3cret@127.0.0.1:badport/app' });
  assert.equal(badUrl.code, 2, badUrl.output);
  assert.match(badUrl.output, /postgres\.url: is not a valid URL .*\(from DATABASE_URL\)/);
  assert.doesNotMatch(badUrl.output, /s3cret/);

  const checkMysql = await runCli(['check-config', '--config', file], { ...env, DATABASE_URL: 'mysql://u:s3cret@127.0.0.1:3306/app' });
  assert.equal(checkMysql.code, 2, checkMysql.output);
  assert.match(checkMysql.output, /postgres\.url: has the scheme "mysql"/);
  const checkRedis = await runCli(['check-config', '--config', file], { ...env, REDIS_URL: 'redis://127.0.0.1:99999' });
  assert.equal(checkRedis.code, 2, checkRedis.output);
  assert.match(checkRedis.output, /redis\.url: is not a valid URL/);

  const yamlError = writeTempConfig(`postgres:\n  url: postgres://u:s3cret@h/app\n  slot: [a\n`);
  const syntax = await runCli(['check-config', '--config', yamlError], {});
  assert.equal(syntax.code, 2, syntax.output);
  assert.match(syntax.output, /YAML syntax error at line \d+, column \d+/);
  assert.doesNotMatch(syntax.output, /s3cret/);

  // Rules that do not fit the database: a config problem, found at start.
  const rules = await runCli(['publish', '--config', writeTempConfig(yaml({ keys: `"${ns}:p:{nope}"` }))], env);
  assert.equal(rules.code, 2, rules.output);
  assert.match(fatal(rules.output), /uses column "nope"/);
});

test('a start the servers refuse exits 1 with a fatal line, and check-config refuses it with the same message', async () => {
  const cases = [
    { name: 'publication missing, createPublication: false', file: writeTempConfig(yaml({ createPublication: false })), env, error: new RegExp(`publication "${ns}" does not exist and postgres.createPublication is false: run CREATE PUBLICATION`) },
    { name: 'wrong password', file: writeTempConfig(yaml()), env: asRole('wrong'), error: /authentication failed/ },
    { name: 'role that cannot create the publication', file: writeTempConfig(yaml()), env: asRole('pw'), error: new RegExp(`cannot create publication "${ns}": role "${role}" must own the tables`) },
  ];
  for (const c of cases) {
    const publish = await runCli(['publish', '--config', c.file], c.env);
    assert.equal(publish.code, 1, `${c.name}: publish\n${publish.output}`);
    const message = fatal(publish.output);
    assert.match(message, c.error, c.name);
    assert.doesNotMatch(publish.output, /stopped before start-up completed/);

    const check = await runCli(['check-config', '--config', c.file], c.env);
    assert.equal(check.code, 1, `${c.name}: check-config\n${check.output}`);
    assert.match(check.output, c.error, c.name);
    if (c.name !== 'wrong password') assert.ok(check.output.includes(message.replace(/^cannot start: /, '')), `${c.name}: same message\n${check.output}\n${message}`);
  }
  const noSlot = await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [ns]);
  assert.equal(noSlot.rowCount, 0, 'check-config and refused starts create no slot');
  const noPublication = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [ns]);
  assert.equal(noPublication.rowCount, 0, 'check-config creates no publication');
  const ok = await runCli(['check-config', '--config', writeTempConfig(yaml())], env);
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.output, /OK \(1 tables checked/);

  // The HTTP port is taken: nothing can be served, exit 1.
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as { port: number }).port;
    const busy = await runCli(['publish', '--config', writeTempConfig(yaml({ http: port }))], env);
    assert.equal(busy.code, 1, busy.output);
    assert.match(fatal(busy.output), /cannot listen on 127\.0\.0\.1:\d+ \(http\.host, http\.port\).*EADDRINUSE/);
  } finally {
    taken.close();
  }
});

/** Starts `evictd <command>` and returns it with its /healthz URL, read from its first log line. */
async function startCli(command: string, file: string, envOverride: Record<string, string>): Promise<CapturedProcess & { healthz: string }> {
  const proc = spawnCli([command, '--config', file], envOverride);
  running.push(proc);
  const http = await waitFor(() => {
    if (proc.gone()) throw new Error(`evictd ${command} exited: ${proc.output()}`);
    return /"http":"([^"]+)"[^\n]*"msg":"evictd starting/.exec(proc.output())?.[1];
  }, { timeoutMs: 120_000, what: `evictd ${command} to serve /healthz`, stopOnError: true });
  return { ...proc, healthz: `${http}/healthz` };
}

interface Health {
  ok: boolean;
  detail: { state: string; roles: { role: string; ok: boolean; detail: Record<string, unknown> }[] };
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Health };
}

test('/healthz answers 503 with the reason while Postgres is unreachable at start; SIGTERM then exits 0', async () => {
  const closed = await freePort();
  const proc = await startCli('publish', writeTempConfig(yaml()), { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/app` });
  const waiting = await waitFor(async () => {
    const h = await health(proc.healthz);
    return h.body.detail.roles[0]?.detail.waitingFor ? h : undefined;
  }, { timeoutMs: 60_000, what: 'the start-up reason in /healthz' });
  assert.equal(waiting.status, 503);
  assert.equal(waiting.body.detail.state, 'starting');
  assert.match(String(waiting.body.detail.roles[0]!.detail.waitingFor), /cannot reach PostgreSQL.*ECONNREFUSED/);
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0, proc.output());
  assert.match(proc.output(), /stopped before start-up completed/);
});

test('/healthz of the invalidator names Kafka while Kafka is unreachable at start', async () => {
  const closed = await freePort();
  const proc = await startCli('invalidate', writeTempConfig(yaml()), { ...env, KAFKA_BROKERS: `127.0.0.1:${closed}` });
  const waiting = await waitFor(async () => {
    const h = await health(proc.healthz);
    return h.body.detail.roles[0]?.detail.waitingFor ? h : undefined;
  }, { timeoutMs: 120_000, what: 'the start-up reason in /healthz' });
  assert.equal(waiting.status, 503);
  assert.match(String(waiting.body.detail.roles[0]!.detail.waitingFor), new RegExp(`ECONNREFUSED|127\\.0\\.0\\.1:${closed}`));
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0, proc.output().slice(-3000));
});

test('a role that fails while running exits 1 with a fatal line: the slot dropped under the publisher', async () => {
  const proc = await startCli('publish', writeTempConfig(yaml()), env);
  await waitFor(() => {
    if (proc.gone()) throw new Error(`evictd publish exited: ${proc.output()}`);
    return proc.output().includes('replication session started');
  }, { timeoutMs: 180_000, what: 'the publisher to stream', stopOnError: true });
  // Its walsender is ended, and the slot dropped before the publisher's reconnect takes it back.
  await waitFor(async () => {
    const { rows } = await db.query<{ active: boolean; pid: number | null }>('SELECT active, active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [ns]);
    if (rows.length === 0) return true;
    if (rows[0]!.active) {
      await db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      return false;
    }
    await db.query('SELECT pg_drop_replication_slot($1)', [ns]); // 55006 when taken back meanwhile: the next check
    return true;
  }, { timeoutMs: 60_000, intervalMs: 10, what: `slot ${ns} dropped under the publisher` });
  assert.equal(await proc.exited, 1, proc.output().slice(-3000));
  assert.match(fatal(proc.output()), new RegExp(`role failed: .*${ns}`));
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
});

test('invalidate with Redis unreachable: /healthz 503 with targets.redis.down and a warning; SIGTERM exits 0', async () => {
  const closed = await freePort();
  const proc = await startCli('invalidate', writeTempConfig(yaml()), { ...env, REDIS_URL: `redis://127.0.0.1:${closed}` });
  const down = await waitFor(async () => {
    const h = await health(proc.healthz);
    return h.body.detail.state === 'running' ? h : undefined;
  }, { timeoutMs: 180_000, what: 'the invalidator to run (consuming) while Redis is away' });
  assert.equal(down.status, 503, JSON.stringify(down.body));
  const redis = (down.body.detail.roles[0]!.detail.targets as Record<string, { type: string; down: false | { error: string } }>).redis;
  assert.equal(redis?.type, 'redis', JSON.stringify(down.body));
  assert.ok(redis.down, JSON.stringify(down.body));
  assert.match(redis.down.error, /ECONNREFUSED/);
  const warning = proc.output().split('\n').find((l) => l.includes('"level":40') && l.includes('Redis unreachable'));
  assert.ok(warning, proc.output().slice(-3000));
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0, proc.output().slice(-3000));
});
