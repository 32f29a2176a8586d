/**
 * The connection security settings of docs/operators-guide.md reach the clients: from a config
 * file with `${VAR}` secrets and TLS files, through loadConfig, into what evictd hands to ioredis
 * and kafkajs. Redis is checked against a real server of this test's own (redis-server with TLS
 * only and a password; certificates from a throw-away CA made with openssl). Kafka's TLS/SASL and
 * Postgres' TLS files are checked up to the client options: no TLS broker or server runs here.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig, type EvictdConfig } from '../../services/invalidator/src/config/index.js';
import { kafkaClientConfig } from '../../services/invalidator/src/bus/kafka.js';
import { createLogger } from '../../services/invalidator/src/observability/log.js';
import { redisClientOptions } from '../../services/invalidator/src/roles/invalidate.js';
import { waitFor } from '../support/index.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'evictd-tls-'));
const secrets = { KAFKA_SASL_PASSWORD: 'kafka-s3cret', REDIS_PASSWORD: 'redis-s3cret' };
const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
let config: EvictdConfig;
let redisPort = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

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

before(async () => {
  await makeCertificates();
  redisPort = await freePort();
  const server = spawn('redis-server', [
    '--port', '0', '--bind', '127.0.0.1', '--tls-port', String(redisPort),
    '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.pem'),
    '--tls-auth-clients', 'no', '--requirepass', secrets.REDIS_PASSWORD, '--save', '', '--appendonly', 'no',
  ], { stdio: 'ignore' });
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
