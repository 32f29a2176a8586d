import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load.js';
import { EvictdError } from '../errors.js';

const minimal = `
postgres: { url: postgres://u@127.0.0.1:5/app }
kafka: { brokers: ["127.0.0.1:9092"] }
redis: { url: redis://127.0.0.1:6379 }
tables:
  public.products:
    keys: ["product:{id}"]
    tags: ["category:{category_id}"]
`;

function problemsOf(text: string, env: Record<string, string> = {}): string {
  try {
    parseConfig(text, '/etc/evictd.yaml', env);
  } catch (err) {
    assert.ok(err instanceof EvictdError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.message;
  }
  assert.fail('expected the config to be rejected');
}

test('defaults are filled in and derived lists follow the rules', () => {
  const config = parseConfig(minimal, '/etc/evictd.yaml');
  assert.equal(config.postgres.slot, 'evictd');
  assert.equal(config.kafka.partitions, 6);
  assert.equal(config.publish.lostSlot, 'flush');
  assert.deepEqual(config.postgres.tables, ['public.products']);
  assert.deepEqual(config.invalidate.topics, ['evictd.public.products']);
  assert.equal(config.file, '/etc/evictd.yaml');
  assert.ok(Object.isFrozen(config.tables['public.products']));
});

test('environment variables override the connection settings', () => {
  const config = parseConfig(minimal, '/x.yaml', {
    DATABASE_URL: 'postgres://other@h:1/db',
    KAFKA_BROKERS: 'a:1, b:2',
    REDIS_URL: 'redis://r:2',
  });
  assert.equal(config.postgres.url, 'postgres://other@h:1/db');
  assert.deepEqual(config.kafka.brokers, ['a:1', 'b:2']);
  assert.equal(config.redis.url, 'redis://r:2');
});

test('${VAR} references are substituted, with defaults, and a missing one is named', () => {
  const text = `${minimal}\nkafka:\n  brokers: ["\${BROKER:-k:9092}"]\n  sasl: { mechanism: plain, username: evictd, password: "\${KAFKA_SASL_PASSWORD}" }\n`;
  const withEnv = parseConfig(text.replace(/^kafka: \{.*\}$/m, ''), '/x.yaml', { KAFKA_SASL_PASSWORD: 's3cret' });
  assert.equal(withEnv.kafka.sasl?.password, 's3cret');
  assert.deepEqual(withEnv.kafka.brokers, ['k:9092']);
  assert.match(problemsOf(text.replace(/^kafka: \{.*\}$/m, '')), /kafka\.sasl\.password: refers to environment variable KAFKA_SASL_PASSWORD, which is not set/);
});

test('every problem is reported with its path', () => {
  const message = problemsOf(`
postgres: { slot: "Bad-Slot", sloth: 1 }
kafka: { brokers: ["nohostport"] }
publish: { lostSlot: sometimes }
tables:
  products: { keys: ["p:{id}"] }
  public.categories: { keys: [{ id: 1 }] }
  public.orders: { columns: [total] }
`);
  assert.match(message, /invalid config \/etc\/evictd\.yaml/);
  assert.match(message, /postgres\.slot: must match pattern/);
  assert.match(message, /postgres: unknown setting "sloth"/);
  assert.match(message, /kafka\.brokers\[0\]: must match pattern/);
  assert.match(message, /publish\.lostSlot: must be equal to one of the allowed values: flush, ignore/);
  assert.match(message, /"products" is not a table name: write schema\.table/);
  assert.match(message, /tables\.public\.categories\.keys\[0\]: must be string/);
  assert.match(message, /tables\.public\.orders: must have required property 'keys'/);
});

test('missing connection settings say which env variable can provide them', () => {
  const message = problemsOf('tables:\n  public.t: { keys: ["t:{id}"] }\n');
  assert.match(message, /postgres\.url: is required: set it in the file or in the environment variable DATABASE_URL/);
  assert.match(message, /kafka\.brokers: .*KAFKA_BROKERS/);
  assert.match(message, /redis\.url: .*REDIS_URL/);
});

test('values from the environment are coerced to the type a setting needs', () => {
  const config = parseConfig(`${minimal}http: { port: "\${HTTP_PORT}" }\nkafka:\n  brokers: ["k:1"]\n  sasl: { mechanism: plain, username: u, password: "\${PW}" }\n`.replace(/^kafka: \{.*\}$/m, ''), '/x.yaml', { HTTP_PORT: '9500', PW: '12345' });
  assert.equal(config.http.port, 9500);
  assert.equal(config.kafka.sasl?.password, '12345');
  assert.match(problemsOf(`${minimal}http: { port: "\${HTTP_PORT}" }\n`, { HTTP_PORT: 'eighty' }), /http\.port: must be integer/);
});

test('YAML syntax errors are reported, not thrown raw', () => {
  assert.match(problemsOf('tables: [unclosed'), /YAML syntax error at line 1, column \d+: /);
});

test('TLS files that cannot be read are named', () => {
  assert.match(problemsOf(`${minimal}\nredis_tls_placeholder: 1\n`.replace('redis: { url: redis://127.0.0.1:6379 }', 'redis: { url: "rediss://h:1", tls: { ca: ./missing-ca.pem } }').replace('redis_tls_placeholder: 1\n', '')), /redis\.tls\.ca: cannot read \/etc\/missing-ca\.pem/);
});

test('postgres.ssl together with ssl parameters in the URL is refused (node-postgres would ignore postgres.ssl)', () => {
  const text = minimal.replace('postgres: { url: postgres://u@127.0.0.1:5/app }', 'postgres: { url: "postgres://u@db:5/app?sslmode=require", ssl: { rejectUnauthorized: true } }');
  assert.match(problemsOf(text), /postgres\.ssl: cannot be combined with sslmode in postgres\.url/);
});

test('connection URLs that cannot work are refused with the setting named, never their password', () => {
  const cases: { env: Record<string, string>; match: RegExp }[] = [
    { env: { DATABASE_URL: 'postgres://u:s3cret@host:badport/app' }, match: /postgres\.url: is not a valid URL.*\(from DATABASE_URL\): "postgres:\/\/u:\*\*\*@host:badport\/app"/ },
    { env: { DATABASE_URL: 'mysql://u:s3cret@host:3306/app' }, match: /postgres\.url: has the scheme "mysql", not postgres or postgresql \(from DATABASE_URL\)/ },
    { env: { REDIS_URL: 'redis://:s3cret@host:70000' }, match: /redis\.url: is not a valid URL.*"redis:\/\/:\*\*\*@host:70000"/ },
    { env: { REDIS_URL: 'redis://host:nope' }, match: /redis\.url: is not a valid URL/ },
  ];
  for (const c of cases) {
    const message = problemsOf(minimal, c.env);
    assert.match(message, c.match);
    assert.doesNotMatch(message, /s3cret/);
  }
  const inFile = problemsOf(minimal.replace('postgres://u@127.0.0.1:5/app', 'postgres://u:s3cret@h:x/app'));
  assert.match(inFile, /postgres\.url: is not a valid URL \([^)]*\): "postgres:\/\/u:\*\*\*@h:x\/app"/);
  // Unix sockets stay possible for node-postgres.
  assert.equal(parseConfig(minimal, '/x.yaml', { DATABASE_URL: 'socket:/var/run/postgresql?db=app' }).postgres.url, 'socket:/var/run/postgresql?db=app');
});

test('a YAML syntax error names line and column but shows none of the file, so no secret leaks', () => {
  const text = `postgres:\n  url: postgres://u:s3cret@h/app\n  slot: [a\nkafka: { brokers: ["k:9092"] }\n`;
  const message = problemsOf(text);
  assert.match(message, /\(file\): YAML syntax error at line \d+, column \d+: /);
  assert.doesNotMatch(message, /s3cret|postgres:\/\//);
});

test('targets: the default is the redis section; each target gets its own consumer group', () => {
  assert.deepEqual(parseConfig(minimal, '/x.yaml').targets, { redis: { type: 'redis', groupId: 'evictd-cache', after: null } });
  const config = parseConfig(`${minimal}\ninvalidate: { groupId: shop }\ntargets:\n  redis: { type: redis }\n  sessions: { type: memcached }\n  edge: { type: http, groupId: edge-purge }\n`, '/x.yaml');
  assert.deepEqual(
    Object.entries(config.targets).map(([name, t]) => [name, t.type, t.groupId]),
    [['redis', 'redis', 'shop'], ['sessions', 'memcached', 'shop.sessions'], ['edge', 'http', 'edge-purge']],
  );
});

test('targets: shared groups, a second Redis, unknown types and names are refused by path', () => {
  const shared = problemsOf(`${minimal}\ntargets:\n  a: { type: redis }\n  b: { type: redis, groupId: evictd-cache.a }\n`);
  assert.match(shared, /targets\.b\.groupId: consumer group "evictd-cache\.a" is already the group of target a/);
  assert.match(shared, /targets\.b: target a already writes to the redis section/);
  const shape = problemsOf(`${minimal}\ntargets:\n  c: { type: ftp }\n  Bad_Name: { type: http }\n  d: { type: http, colour: red }\n`);
  assert.match(shape, /targets\.c\.type: must be equal to one of the allowed values: redis, memcached, http/);
  assert.match(shape, /targets: "Bad_Name" is not a target name/);
  assert.match(shape, /targets\.d: unknown setting "colour"/);
  assert.doesNotMatch(shape, /"then"/);
});

test('targets: without a Redis target the redis section is not required', () => {
  const text = minimal.replace('redis: { url: redis://127.0.0.1:6379 }\n', '') + 'targets:\n  sessions: { type: memcached }\n';
  assert.equal(parseConfig(text, '/x.yaml').targets.sessions?.type, 'memcached');
  assert.match(problemsOf(minimal.replace('redis: { url: redis://127.0.0.1:6379 }\n', '')), /redis\.url: is required/);
});

const targetsOf = (yaml: string) => `${minimal}\ninvalidate: { groupId: shop }\ntargets:\n${yaml}`;

test('targets: an http target waits for the redis target by default; after: none and explicit after override it', () => {
  const afterOf = (yaml: string) => Object.fromEntries(Object.entries(parseConfig(targetsOf(yaml), '/x.yaml').targets).map(([name, t]) => [name, t.after]));
  assert.deepEqual(afterOf('  cache: { type: redis }\n  sessions: { type: memcached }\n  edge: { type: http }\n'), { cache: null, sessions: null, edge: 'cache' });
  assert.deepEqual(afterOf('  redis: { type: redis }\n  edge: { type: http, after: none }\n'), { redis: null, edge: null });
  // A CDN in front of a Varnish in front of the app: the chain is the operator's to state.
  assert.deepEqual(afterOf('  redis: { type: redis }\n  varnish: { type: http }\n  cdn: { type: http, after: varnish }\n  sessions: { type: memcached, after: redis }\n'), { redis: null, varnish: 'redis', cdn: 'varnish', sessions: 'redis' });
  // Without a Redis target there is nothing to wait for by default.
  const edgeOnly = minimal.replace('redis: { url: redis://127.0.0.1:6379 }\n', '') + 'targets:\n  edge: { type: http }\n';
  assert.equal(parseConfig(edgeOnly, '/x.yaml').targets.edge?.after, null);
});

test('targets: after naming an unknown target, the target itself, or closing a cycle is refused by path', () => {
  const message = problemsOf(targetsOf('  redis: { type: redis }\n  edge: { type: http, after: redsi }\n  self: { type: http, after: self }\n'));
  assert.match(message, /targets\.edge\.after: names no target of this config \("redsi"\): one of redis, self, or none/);
  assert.match(message, /targets\.self\.after: names the target itself/);
  const cycle = problemsOf(targetsOf('  redis: { type: redis, after: cdn }\n  edge: { type: http }\n  cdn: { type: http, after: edge }\n'));
  assert.match(cycle, /targets\.redis\.after: redis -> cdn -> edge -> redis is a cycle/);
  assert.equal(cycle.match(/is a cycle/g)?.length, 1, 'one cycle, reported once');
  assert.match(problemsOf(targetsOf('  none: { type: memcached }\n')), /targets\.none: "none" cannot name a target/);
  assert.match(problemsOf(targetsOf('  edge: { type: http, after: "Bad Name" }\n')), /targets\.edge\.after: must match pattern/);
});
