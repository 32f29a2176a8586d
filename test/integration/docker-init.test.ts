/**
 * The postgres container's init, without Docker: the scripts docker-compose.yml mounts into
 * /docker-entrypoint-initdb.d are applied in the image's order (by file name, psql with
 * ON_ERROR_STOP, the container's environment) to a fresh database of the local stack. Then the
 * role they create runs `evictd publish` natively with the containers' config file and env: no
 * superuser, no table ownership; a change made as the demo API's role arrives on Kafka; SIGTERM
 * stops it with exit code 0.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { parseDocument } from 'yaml';
import { REPO_ROOT, environmentOf, postgresInitScripts, readCompose, service } from '../docker/compose-file.js';
import { createDemoDatabase, type DemoDatabase } from '../docker/demo-database.js';
import { stackEnv, uniqueName, waitFor, type StackEnv } from '../support/index.js';
import { dropSlot, readTopics, spawnPublisher, testKafka } from './publish-helpers.js';
import { deleteTopicsWithPrefix } from '../docker/topics.js';

const run = promisify(execFile);
const env = stackEnv();
const ns = uniqueName('dockinit');
const compose = readCompose();
const publisherContainer = service(compose, 'evictd-publish');
const configFile = publisherContainer.command?.[publisherContainer.command.indexOf('--config') + 1] ?? '';

let db: DemoDatabase;
let admin: pg.Client;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  db = await createDemoDatabase(env, ns);
  admin = new pg.Client({ connectionString: env.DATABASE_URL });
  await admin.connect();
  cleanups.push(async () => {
    await admin.end();
    await db.drop();
  });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('the roles script refuses to run without the passwords, naming the variable', async () => {
  const roles = postgresInitScripts(service(compose, 'postgres')).find((s) => s.source.endsWith('30-evictd-roles.sql'));
  assert.ok(roles);
  const failed = await db.applyFile(roles.source, { ...db.initEnv, EVICTD_DB_PASSWORD: undefined }).then(
    () => assert.fail('expected psql to fail'),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(failed.code, 3); // psql: an error with ON_ERROR_STOP
  assert.match(failed.stderr, /EVICTD_DB_PASSWORD is not set/);
  const { rows } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [db.evictdUser.name]);
  assert.equal(rows.length, 0, 'nothing is created before the check');
});

test('the init scripts apply in order to a fresh database and create a least-privileged evictd role', async () => {
  await db.initialize();

  const { rows: [role] } = await admin.query<{ rolsuper: boolean; rolreplication: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
    'SELECT rolsuper, rolreplication, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1',
    [db.evictdUser.name],
  );
  assert.deepEqual(role, { rolsuper: false, rolreplication: true, rolcreatedb: false, rolcreaterole: false });

  const asEvictd = new pg.Client({ connectionString: db.url(db.evictdUser) });
  await asEvictd.connect();
  try {
    const { rows } = await asEvictd.query<{ n: number }>('SELECT count(*)::int AS n FROM public.products');
    assert.ok((rows[0]?.n ?? 0) > 0, 'the seed ran and evictd may read it');
    await assert.rejects(asEvictd.query('UPDATE public.products SET price = price WHERE id = 1'), /permission denied/);
    // Not an owner: it could not create the publication, hence createPublication: false.
    await assert.rejects(asEvictd.query('CREATE PUBLICATION not_mine FOR TABLE public.products'), /must be owner|permission denied/);
  } finally {
    await asEvictd.end();
  }
});

test('as that role, evictd check-config and evictd publish work with the containers config; SIGTERM exits 0', async () => {
  const brokers = env.KAFKA_BROKERS;
  // The container's environment, pointed at this database and the local stack, with names of its own.
  const evictdEnv = {
    ...environmentOf(publisherContainer),
    DATABASE_URL: db.url(db.evictdUser),
    KAFKA_BROKERS: brokers,
    REDIS_URL: env.REDIS_URL,
    EVICTD_SLOT: ns,
    EVICTD_TOPIC_PREFIX: ns,
    EVICTD_KEY_PREFIX: `${ns}:`,
    EVICTD_GROUP_ID: ns,
    EVICTD_HTTP_HOST: '127.0.0.1',
  } satisfies StackEnv & Record<string, string>;
  // The one change to the containers' file: a free port for /metrics (9464 may be taken here).
  const doc = parseDocument(readFileSync(resolve(REPO_ROOT, 'infra/docker/evictd.yaml'), 'utf8'));
  doc.setIn(['http', 'port'], 0);
  const yaml = doc.toString();
  assert.equal(configFile, '/etc/evictd/evictd.yaml');

  const check = await run(process.execPath, ['--conditions=development', '--import', 'tsx', 'services/invalidator/src/cli.ts', 'check-config', '--config', resolve(REPO_ROOT, 'infra/docker/evictd.yaml')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...evictdEnv },
  });
  assert.match(check.stdout, /OK \(2 tables checked against the database\)/);

  cleanups.push(async () => {
    await dropSlot(admin, ns);
    await deleteTopicsWithPrefix(env, ns);
  });
  const publisher = await spawnPublisher(evictdEnv, yaml);
  cleanups.push(async () => {
    if (publisher.child.exitCode === null) publisher.child.kill('SIGKILL');
    await publisher.exited;
  });

  const reader = await readTopics(testKafka(env), [`${ns}.public.products`], ns);
  cleanups.push(() => reader.stop());

  // A write as the demo API's role, as the page's "edit price" does.
  const asApp = new pg.Client({ connectionString: db.url(db.appUser) });
  await asApp.connect();
  try {
    await asApp.query('UPDATE public.products SET price = price + 1 WHERE id = 3');
  } finally {
    await asApp.end();
  }
  const event = await waitFor(
    () => reader.messages.find((m) => (m.value?.after as { id?: number } | undefined)?.id === 3),
    { timeoutMs: 60_000, what: `the UPDATE of product 3 on ${ns}.public.products` },
  );
  assert.equal(event.value?.op, 'u');
  assert.deepEqual(event.key, { id: 3 });
  assert.equal((event.value?.source as { db?: string }).db, ns);

  publisher.child.kill('SIGTERM');
  assert.equal(await publisher.exited, 0, publisher.output());
});
