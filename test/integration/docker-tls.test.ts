/**
 * The connection security settings of docs/operators-guide.md reach the clients: from a config
 * file with `${VAR}` secrets and TLS files, through loadConfig, into what evictd hands to ioredis
 * and kafkajs. Redis and Postgres are checked against real servers of this test's own that
 * accept TLS connections only (redis-server with a password; a private Postgres whose pg_hba.conf
 * has only hostssl lines), with certificates from a throw-away CA made with openssl. Kafka's
 * TLS/SASL are checked up to the kafkajs client options: no TLS/SASL broker runs here.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, guardChild, startStack, type Stack } from '@evictd/infra';
import { loadConfig, type EvictdConfig } from '../../services/invalidator/src/config/index.js';
import { kafkaClientConfig } from '../../services/invalidator/src/bus/kafka.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { redisClientOptions } from '../../services/invalidator/src/targets/index.js';
import { REPO_ROOT } from '../docker/compose-file.js';
import { stackEnv, uniqueName, waitFor } from '../support/index.js';
import { spawnPublisher } from './publish-helpers.js';
import { deleteTopicsWithPrefix } from '../docker/topics.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'evictd-tls-'));
const secrets = { KAFKA_SASL_PASSWORD: 'kafka-s3cret', REDIS_PASSWORD: 'redis-s3cret' };
const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
let config: EvictdConfig;
let redisPort = 0;

/** A CA and a server certificate for 127.0.0.1 / localhost signed by it. */
async function makeCertificates(): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=evictd test CA');
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.cnf');
}

/** A client with evictd's options (no reconnects); `errors` collects its connection errors. */
function client(options: ReturnType<typeof redisClientOptions>): { redis: Redis; errors: string[] } {
  const redis = new Redis(config.redis.url, { ...options, lazyConnect: true, retryStrategy: () => null });
  const errors: string[] = [];
  redis.on('error', (err: Error) => errors.push(err.message));
  cleanups.push(async () => redis.disconnect());
  return { redis, errors };
}

// Node 20 runs the top-level before() hooks of a file concurrently: both wait on this one promise.
let certificates: Promise<void> | undefined;
const certificatesMade = () => (certificates ??= makeCertificates());

before(async () => {
  await certificatesMade();
  redisPort = await freePort();
  const server = spawn('redis-server', [
    '--port', '0', '--bind', '127.0.0.1', '--tls-port', String(redisPort),
    '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.pem'),
    '--tls-auth-clients', 'no', '--requirepass', secrets.REDIS_PASSWORD, '--save', '', '--appendonly', 'no',
  ], { stdio: 'ignore' });
  guardChild(server);
  const exited = new Promise((resolve) => server.once('exit', resolve));
  cleanups.push(async () => {
    server.kill('SIGTERM');
    await exited;
  });

  writeFileSync(join(dir, 'evictd.yaml'), `
postgres:
  url: postgres://evictd@127.0.0.1:5432/app
  ssl: { ca: ./ca.pem }
kafka:
  brokers: ["127.0.0.1:9093"]
  ssl: { ca: ./ca.pem }
  sasl: { mechanism: scram-sha-512, username: evictd, password: "\${KAFKA_SASL_PASSWORD}" }
redis:
  url: "rediss://127.0.0.1:\${REDIS_TLS_PORT}"
  password: "\${REDIS_PASSWORD}"
  tls: { ca: ./ca.pem }
tables:
  public.products: { keys: ["product:{id}"] }
`);
  config = await loadConfig(join(dir, 'evictd.yaml'), { ...secrets, REDIS_TLS_PORT: String(redisPort) });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('rediss:// with redis.tls.ca and redis.password from ${REDIS_PASSWORD}: evictd connects to a TLS-only Redis with AUTH', async () => {
  const { redis } = client(redisClientOptions(config.redis));
  await waitFor(async () => (await redis.ping()) === 'PONG', { timeoutMs: 20_000, what: `PONG over TLS from 127.0.0.1:${redisPort}` });
});

test('the same Redis refuses evictd without the password, and TLS fails without the CA: both settings are what made it work', async () => {
  const ready = client(redisClientOptions(config.redis)).redis;
  await waitFor(async () => (await ready.ping()) === 'PONG', { timeoutMs: 20_000, what: 'the TLS Redis to answer' });

  const noPassword = client(redisClientOptions({ ...config.redis, password: undefined })).redis;
  await assert.rejects(noPassword.ping(), /NOAUTH|Authentication required/i);

  const noCa = client(redisClientOptions({ ...config.redis, tls: undefined }));
  await assert.rejects(noCa.redis.ping());
  assert.match(noCa.errors.join('\n'), /self[- ]signed certificate|unable to verify|certificate/i);
});

test('kafka.ssl and kafka.sasl (password from ${KAFKA_SASL_PASSWORD}) reach the kafkajs client options', () => {
  const options = kafkaClientConfig(config.kafka, createLogger('tls-test', 'silent'));
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  assert.deepEqual(options.ssl, { ca, cert: undefined, key: undefined, rejectUnauthorized: true });
  assert.deepEqual(options.sasl, { mechanism: 'scram-sha-512', username: 'evictd', password: secrets.KAFKA_SASL_PASSWORD });
});

test('postgres.ssl files are read at load time, relative to the config file', () => {
  assert.equal(config.postgres.ssl?.ca, readFileSync(join(dir, 'ca.pem'), 'utf8'));
  assert.equal(config.postgres.ssl?.rejectUnauthorized, true);
});

// --- PostgreSQL: a private server (the shared stack's must stay as it is) that refuses plain TCP.

const env = stackEnv();
const ns = uniqueName('docktls');
let tlsPg: Stack<'postgres'>;

/** The private server's URL; its superuser is trusted on loopback, over TLS only (see pg_hba below). */
function pgUrl(query = ''): string {
  return `${tlsPg.env.DATABASE_URL}${query}`;
}

before(async () => {
  await certificatesMade();
  tlsPg = await startStack({ services: ['postgres'] });
  cleanups.push(() => tlsPg.stop());
  const admin = new pg.Client({ connectionString: tlsPg.env.DATABASE_URL });
  await admin.connect();
  try {
    const dataDir = (await admin.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
    const hbaFile = (await admin.query<{ hba_file: string }>('SHOW hba_file')).rows[0]!.hba_file;
    // ssl_cert_file / ssl_key_file default to server.crt / server.key in the data directory; the
    // key must belong to the server's OS user and be private to it.
    const owner = statSync(dataDir);
    for (const [from, to] of [['server.pem', 'server.crt'], ['server.key', 'server.key']] as const) {
      copyFileSync(join(dir, from), join(dataDir, to));
      chownSync(join(dataDir, to), owner.uid, owner.gid);
      chmodSync(join(dataDir, to), 0o600);
    }
    writeFileSync(hbaFile, 'local all all trust\nhostssl all postgres 127.0.0.1/32 trust\nhostssl replication postgres 127.0.0.1/32 trust\n');
    await admin.query('ALTER SYSTEM SET ssl = on');
    await admin.query('SELECT pg_reload_conf()');
    await admin.query('CREATE TABLE public.products (id integer PRIMARY KEY, name text NOT NULL)');
  } finally {
    await admin.end();
  }
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  await waitFor(async () => {
    const probe = new pg.Client({ connectionString: pgUrl(), ssl: { ca } });
    await probe.connect();
    await probe.end();
    return true;
  }, { timeoutMs: 20_000, what: 'the private Postgres to accept TLS' });
});

const cli = (args: string[], extraEnv: Record<string, string>) =>
  run(process.execPath, ['--conditions=development', '--import', 'tsx', 'services/invalidator/src/cli.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, KAFKA_BROKERS: env.KAFKA_BROKERS, REDIS_URL: env.REDIS_URL, ...extraEnv },
  });

function pgConfig(ssl: string): string {
  const file = join(dir, `pg-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `postgres: { slot: ${ns}, publication: ${ns}${ssl} }\nkafka: { topicPrefix: ${ns} }\nhttp: { port: 0 }\ntables:\n  public.products: { keys: ["product:{id}"] }\n`);
  return file;
}

test('the private Postgres refuses a connection without TLS (the checks below would prove nothing otherwise)', async () => {
  const failed = await cli(['check-config', '--config', pgConfig('')], { DATABASE_URL: pgUrl('?sslmode=disable') }).then(
    () => assert.fail('expected check-config to fail without TLS'),
    (err: { code: number; stderr: string }) => err,
  );
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /no encryption|pg_hba\.conf/);
});

test('postgres.ssl.ca (no sslmode in the URL): evictd check-config connects over verified TLS', async () => {
  const { stdout } = await cli(['check-config', '--config', pgConfig(`, ssl: { ca: ./ca.pem }`)], { DATABASE_URL: pgUrl() });
  assert.match(stdout, /OK \(1 tables checked against the database\)/);
});

test('sslmode=verify-full with sslrootcert in DATABASE_URL: evictd check-config connects over verified TLS', async () => {
  const { stdout } = await cli(['check-config', '--config', pgConfig('')], { DATABASE_URL: pgUrl(`?sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}`) });
  assert.match(stdout, /OK \(1 tables checked against the database\)/);
});

test('postgres.ssl.ca: evictd publish streams over TLS (replication and catalog connections) and stops on SIGTERM', async () => {
  const yaml = readFileSync(pgConfig(`, ssl: { ca: ${join(dir, 'ca.pem')} }`), 'utf8');
  cleanups.push(() => deleteTopicsWithPrefix(env, ns));
  const publisher = await spawnPublisher({ DATABASE_URL: pgUrl(), KAFKA_BROKERS: env.KAFKA_BROKERS, REDIS_URL: env.REDIS_URL }, yaml);
  cleanups.push(async () => {
    if (publisher.child.exitCode === null) publisher.child.kill('SIGKILL');
    await publisher.exited;
  });
  const admin = new pg.Client({ connectionString: pgUrl('?sslmode=verify-full&sslrootcert=' + join(dir, 'ca.pem')) });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ backend_type: string; ssl: boolean }>(
      `SELECT a.backend_type, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'evictd-publish'`,
    );
    assert.ok(rows.some((r) => r.backend_type === 'walsender'), `no replication connection of evictd-publish: ${JSON.stringify(rows)}`);
    assert.ok(rows.every((r) => r.ssl), JSON.stringify(rows));
  } finally {
    await admin.end();
  }
  publisher.child.kill('SIGTERM');
  assert.equal(await publisher.exited, 0, publisher.output());
});
