/**
 * docker-compose.yml without a Docker engine: valid against the Compose Specification schema,
 * started in a sound order, and every container's environment and config accepted by the same
 * code that reads them in the container (evictd's loadConfig, the demo API's parseDemoConfig).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { loadConfig } from '../../services/invalidator/src/config/index.js';
import { INVALIDATOR_NODE_OPTIONS } from '../../services/invalidator/src/roles/node-options.js';
import { parseDemoConfig } from '../../services/demo-api/src/config.js';
import {
  REPO_ROOT,
  bindMountsOf,
  dependenciesOf,
  environmentOf,
  flagValue,
  hostPathOf,
  interpolate,
  postgresInitScripts,
  readCompose,
  readComposeDocument,
  service,
  type ComposeService,
} from './compose-file.js';

const composeSchema = JSON.parse(readFileSync(resolve(REPO_ROOT, 'infra/docker/compose-spec.schema.json'), 'utf8')) as Record<string, unknown>;
// ajv knows draft-07 as http://json-schema.org/draft-07/schema#; the file names the https form.
delete composeSchema.$schema;
const validateCompose = new Ajv({ allErrors: true, strict: false }).compile(composeSchema);

const compose = readCompose();
const EVICTD_COMMANDS = ['publish', 'invalidate', 'run'];
const evictdServices = Object.entries(compose.services).filter(([, svc]) => svc.build?.target === 'evictd');

function publishedPorts(svc: ComposeService): { host: string; container: string }[] {
  return (svc.ports ?? []).map((p) => {
    const parts = String(p).split(':');
    return { container: parts.at(-1) ?? '', host: parts.at(-2) ?? '' };
  });
}

function healthcheckCommand(svc: ComposeService): string {
  const test = svc.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

test('docker-compose.yml is valid against the Compose Specification JSON Schema', () => {
  const ok = validateCompose(readComposeDocument());
  assert.equal(ok, true, JSON.stringify(validateCompose.errors, null, 2));
});

test('the schema check is real: a misspelt setting and a bad depends_on condition are rejected', () => {
  const broken = structuredClone(readComposeDocument());
  const publisher = broken.services['evictd-publish'] as Record<string, unknown>;
  publisher.helthcheck = { test: ['CMD', 'true'] };
  publisher.depends_on = { postgres: { condition: 'service_ready' } };
  assert.equal(validateCompose(broken), false);
  const paths = (validateCompose.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('\n');
  assert.match(paths, /\/services\/evictd-publish must NOT have additional properties/);
  assert.match(paths, /\/services\/evictd-publish\/depends_on\/postgres\/condition must be equal to one of the allowed values/);
});

test('compose interpolation: defaults apply, the environment wins, $$ is a literal dollar', () => {
  assert.equal(interpolate('a:${P:-x}@h', {}), 'a:x@h');
  assert.equal(interpolate('a:${P:-x}@h', { P: 's3' }), 'a:s3@h');
  assert.equal(interpolate('${P-x}', { P: '' }), '');
  assert.equal(interpolate('Kg$$', {}), 'Kg$');
  assert.throws(() => interpolate('${P:?required}', {}), /unsupported interpolation/);
});

test('every image is pinned to a version; services built here name their image', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    assert.ok(svc.image, `${name}: no image name`);
    if (svc.build) {
      assert.match(svc.image, /:local$/, `${name}: images built from this repository are tagged :local`);
      assert.ok(existsSync(resolve(REPO_ROOT, svc.build.context ?? '.', svc.build.dockerfile ?? 'Dockerfile')), `${name}: Dockerfile missing`);
    } else {
      assert.match(svc.image, /:\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$/, `${name}: pin ${svc.image} to major.minor(.patch)`);
    }
  }
});

test('start order: each service waits for healthy dependencies, the graph has no cycle, the page comes last', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const [dep, condition] of Object.entries(dependenciesOf(svc))) {
      assert.ok(compose.services[dep], `${name} depends on unknown service ${dep}`);
      assert.equal(condition, 'service_healthy', `${name} -> ${dep}: wait for health, not just a started container`);
      assert.ok(healthcheckCommand(service(compose, dep)), `${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
    }
  }
  const waitsFor = (name: string, seen = new Set<string>()): Set<string> => {
    for (const dep of Object.keys(dependenciesOf(service(compose, name)))) {
      if (!seen.has(dep)) {
        seen.add(dep);
        waitsFor(dep, seen);
      }
    }
    return seen;
  };
  for (const [name] of evictdServices) {
    for (const server of ['postgres', 'kafka', 'redis']) assert.ok(waitsFor(name).has(server), `${name} does not wait for ${server}`);
  }
  assert.ok(waitsFor('evictd-invalidate').has('evictd-publish'), 'the invalidator subscribes to topics the publisher creates');
  const page = waitsFor('demo-api');
  for (const name of ['postgres', 'kafka', 'redis', 'evictd-publish', 'evictd-invalidate']) assert.ok(page.has(name), `demo-api does not wait for ${name}`);
  for (const name of Object.keys(compose.services)) assert.ok(!waitsFor(name).has(name), `dependency cycle through ${name}`);
});

test('postgres runs with logical decoding, bounded slot WAL, and its init scripts exist', () => {
  const pg = service(compose, 'postgres');
  const command = (pg.command ?? []).join(' ');
  for (const setting of ['wal_level=logical', 'max_replication_slots=', 'max_wal_senders=', 'max_slot_wal_keep_size=']) {
    assert.ok(command.includes(setting), `postgres command lacks ${setting}`);
  }
  const scripts = postgresInitScripts(pg);
  assert.deepEqual(scripts.map((s) => s.source.slice(REPO_ROOT.length)), [
    'infra/sql/demo-schema.sql',
    'infra/sql/demo-seed.sql',
    'infra/docker/postgres-init/30-evictd-roles.sql',
  ]);
  for (const script of scripts) assert.ok(existsSync(script.source), `${script.source} is mounted but missing`);
  // The pg_isready check must go over TCP: the image's init-time server listens on the socket only.
  assert.match(healthcheckCommand(pg), /pg_isready .*-h 127\.0\.0\.1/);
});

test('redis sends the keyspace notifications the demo timeline needs (K, g, $)', () => {
  const command = service(compose, 'redis').command ?? [];
  const flags = flagValue(command, '--notify-keyspace-events') ?? '';
  assert.ok(flags.includes('K'));
  assert.ok(flags.includes('A') || (flags.includes('g') && flags.includes('$')), `notify-keyspace-events ${flags} lacks g or $`);
});

for (const [name, svc] of evictdServices) {
  test(`${name}: its environment and mounted config pass evictd's config loader and match the other containers`, async () => {
    const command = svc.command ?? [];
    assert.ok(EVICTD_COMMANDS.includes(command[0] ?? ''), `${name}: command ${command.join(' ')}`);
    const configPath = flagValue(command, '--config');
    assert.ok(configPath, `${name}: no --config`);
    const env = environmentOf(svc);
    const config = await loadConfig(hostPathOf(svc, configPath, name), env);

    // Addresses point at the compose services.
    const pgUrl = new URL(config.postgres.url);
    assert.equal(pgUrl.hostname, 'postgres');
    assert.deepEqual(config.kafka.brokers, [environmentOf(service(compose, 'kafka')).KAFKA_ADVERTISED_LISTENERS?.replace('PLAINTEXT://', '')]);
    assert.equal(new URL(config.redis.url).hostname, 'redis');

    // Least privilege: the evictd role, whose password the postgres container set at init, and a
    // publication created by the owner.
    const pgEnv = environmentOf(service(compose, 'postgres'));
    assert.equal(pgUrl.username, pgEnv.EVICTD_DB_USER ?? 'evictd');
    assert.equal(decodeURIComponent(pgUrl.password), pgEnv.EVICTD_DB_PASSWORD);
    assert.equal(pgUrl.pathname, `/${pgEnv.POSTGRES_DB}`);
    assert.equal(config.postgres.createPublication, false);

    // /healthz is reachable where the health check and the published port look for it.
    assert.equal(config.http.host, '0.0.0.0');
    assert.match(healthcheckCommand(svc), new RegExp(`127\\.0\\.0\\.1:${config.http.port}/healthz`));
    assert.ok(publishedPorts(svc).some((p) => p.container === String(config.http.port)), `${name}: metrics port ${config.http.port} not published`);

    // An invalidator runs with the heap it was measured with (the bench uses the same constant).
    if (command[0] === 'invalidate') assert.equal(env.NODE_OPTIONS, INVALIDATOR_NODE_OPTIONS, `${name}: NODE_OPTIONS`);

    // The demo API must use the same topic and key prefixes.
    const demo = parseDemoConfig(environmentOf(service(compose, 'demo-api')));
    assert.equal(config.kafka.topicPrefix, demo.topicPrefix);
    assert.equal(config.redis.keyPrefix, demo.keyPrefix);
  });
}

test('both evictd commands of the demo run with the same config file and environment (but for the invalidator heap)', () => {
  assert.deepEqual(evictdServices.map(([, svc]) => svc.command?.[0]).sort(), ['invalidate', 'publish']);
  const [first, second] = evictdServices.map(([, svc]) => svc);
  assert.ok(first && second);
  const withoutHeap = (svc: ComposeService) => {
    const { NODE_OPTIONS: _heap, ...rest } = environmentOf(svc);
    return rest;
  };
  assert.deepEqual(withoutHeap(first), withoutHeap(second));
  assert.deepEqual(bindMountsOf(first), bindMountsOf(second));
});

test('demo-api: its environment passes the demo API config parser, the page is on localhost:8080', () => {
  const svc = service(compose, 'demo-api');
  const demo = parseDemoConfig(environmentOf(svc));
  assert.equal(demo.host, '0.0.0.0');
  assert.equal(demo.port, 8080);
  assert.ok(publishedPorts(svc).some((p) => p.host === '8080' && p.container === '8080'));
  const url = new URL(demo.databaseUrl);
  const pgEnv = environmentOf(service(compose, 'postgres'));
  assert.equal(url.username, pgEnv.APP_DB_USER ?? 'app');
  assert.equal(decodeURIComponent(url.password), pgEnv.APP_DB_PASSWORD);
  assert.match(healthcheckCommand(svc), /127\.0\.0\.1:8080\/healthz/);
});

test('the container config keeps the demo rules, and the init SQL publishes exactly the rule tables', () => {
  const containerConfig = parse(readFileSync(resolve(REPO_ROOT, 'infra/docker/evictd.yaml'), 'utf8')) as { tables: Record<string, unknown> };
  const demoConfig = parse(readFileSync(resolve(REPO_ROOT, 'services/demo-api/demo/evictd.yaml'), 'utf8')) as { tables: Record<string, unknown> };
  assert.deepEqual(containerConfig.tables, demoConfig.tables, 'infra/docker/evictd.yaml and services/demo-api/demo/evictd.yaml must keep the same rules');
  const initSql = readFileSync(resolve(REPO_ROOT, 'infra/docker/postgres-init/30-evictd-roles.sql'), 'utf8');
  const published = /CREATE PUBLICATION \S+ FOR TABLE ([^;]+);/.exec(initSql)?.[1]?.split(',').map((t) => t.trim()) ?? [];
  assert.deepEqual(published.sort(), Object.keys(containerConfig.tables).sort());
});
