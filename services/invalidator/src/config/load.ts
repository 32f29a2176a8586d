import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { readJsonSchema } from '@evictd/schemas';
import { EvictdError } from '../errors.js';
import { changeTopic } from '../bus/topics.js';
import { interpolateEnv } from './interpolate.js';
import { urlSslParameters } from './postgres.js';
import { checkConnectionUrls } from './urls.js';
import type { ConfigProblem, EvictdConfig, TargetSettings, TlsFiles } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

// coerceTypes: "${HTTP_PORT}" becomes the integer the schema wants, and a numeric-looking
// password stays a string; values that cannot be coerced are still reported.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });
const validateShape = ajv.compile(readJsonSchema('config.schema.json'));

/**
 * Reads, validates and freezes an evictd config file. Every problem is collected and reported
 * together, each with its path in the file, so one run shows everything to fix.
 */
export async function loadConfig(file: string, env: Env = process.env): Promise<EvictdConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EvictdError('CONFIG_UNREADABLE', `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, path, env);
}

/** Pure apart from reading TLS files named in the config. */
export function parseConfig(text: string, file: string, env: Env = {}): EvictdConfig {
  const problems: ConfigProblem[] = [];
  // Positions only: the YAML library's excerpt of the surrounding lines could show a password.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  for (const error of doc.errors) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    problems.push({ path: '', message: `YAML syntax error at line ${line}, column ${col}: ${error.message}` });
  }
  if (problems.length > 0) throw configError(file, problems);

  const raw = interpolateEnv(doc.toJS() ?? {}, env, problems) as Record<string, unknown>;
  applyEnvOverrides(raw, env);
  if (!validateShape(raw)) {
    // A bad table name yields a generic pattern error too; the propertyNames one says more.
    const errors = (validateShape.errors ?? []).filter((e) => e.propertyName === undefined && e.keyword !== 'if');
    problems.push(...errors.map(fromAjvError));
  }
  if (problems.length > 0) throw configError(file, problems);

  const config = raw as unknown as Omit<EvictdConfig, 'file'> & { file?: string };
  requireSetting(config.postgres.url, 'postgres.url', 'DATABASE_URL', problems);
  requireSetting(config.kafka.brokers, 'kafka.brokers', 'KAFKA_BROKERS', problems);
  config.targets = resolveTargets(raw.targets as Record<string, Record<string, unknown>> | undefined, config.invalidate.groupId, problems);
  // Only the Redis target reads the redis section: a Memcached- or CDN-only invalidator needs none.
  if (Object.values(config.targets).some((t) => t.type === 'redis')) requireSetting(config.redis.url, 'redis.url', 'REDIS_URL', problems);
  checkConnectionUrls(config, env, problems);

  const urlSsl = config.postgres.url === undefined ? [] : urlSslParameters(config.postgres.url);
  if (config.postgres.ssl && urlSsl.length > 0) {
    problems.push({ path: 'postgres.ssl', message: `cannot be combined with ${urlSsl.join(', ')} in postgres.url / DATABASE_URL (node-postgres would ignore postgres.ssl): use one or the other` });
  }

  const baseDir = dirname(file);
  const tls = (value: unknown, at: string) => readTlsFiles(value, at, baseDir, problems);
  if (config.postgres.ssl) config.postgres.ssl = tls(config.postgres.ssl, 'postgres.ssl');
  if (typeof config.kafka.ssl === 'object') config.kafka.ssl = tls(config.kafka.ssl, 'kafka.ssl');
  if (config.redis.tls) config.redis.tls = tls(config.redis.tls, 'redis.tls');
  if (problems.length > 0) throw configError(file, problems);

  const ruleTables = Object.keys(config.tables);
  config.postgres.tables = config.postgres.tables ?? ruleTables;
  config.invalidate.topics =
    config.invalidate.topics ??
    ruleTables.map((table) => {
      const [schema = '', name = ''] = table.split('.'); // the schema guarantees schema.table
      return changeTopic(config.kafka.topicPrefix, schema, name);
    });
  config.file = file;
  return deepFreeze(config as EvictdConfig);
}

/** `after: none`: no ordering, also where the default would order (so no target may be named none). */
const NO_ORDER = 'none';

/**
 * Each target's consumer group: the target named `redis` keeps invalidate.groupId (the group of
 * every config before targets existed, so its committed offsets stay valid), the others get
 * <groupId>.<name>. Two targets sharing a group would split the partitions between them, each
 * seeing only part of the changes, so that is refused; so is a second Redis target (there is one
 * redis section). Then each target's `after` (see resolveAfter).
 */
function resolveTargets(raw: Record<string, Record<string, unknown>> | undefined, groupId: string, problems: ConfigProblem[]): Record<string, TargetSettings> {
  const entries = Object.entries(raw ?? { redis: { type: 'redis' } });
  const groupOf = new Map<string, string>();
  let redisTarget: string | undefined;
  for (const [name, entry] of entries) {
    const group = typeof entry.groupId === 'string' ? entry.groupId : name === 'redis' ? groupId : `${groupId}.${name}`;
    const other = [...groupOf].find(([, g]) => g === group)?.[0];
    if (other !== undefined) problems.push({ path: `targets.${name}.groupId`, message: `consumer group "${group}" is already the group of target ${other}: give each target its own groupId` });
    groupOf.set(name, group);
    if (name === NO_ORDER) problems.push({ path: `targets.${name}`, message: `"${NO_ORDER}" cannot name a target (after: ${NO_ORDER} means no ordering): rename it` });
    if (entry.type === 'redis') {
      if (redisTarget !== undefined) problems.push({ path: `targets.${name}`, message: `target ${redisTarget} already writes to the redis section: one Redis target per config (run another evictd with its own config for a second Redis)` });
      redisTarget ??= name;
    }
  }
  const names = entries.map(([name]) => name);
  const targets: Record<string, TargetSettings> = {};
  for (const [name, entry] of entries) {
    targets[name] = { ...entry, groupId: groupOf.get(name), after: resolveAfter(name, entry, redisTarget, names, problems) } as unknown as TargetSettings;
  }
  checkAfterCycles(targets, problems);
  return targets;
}

/**
 * The target `name` waits for. Unset: an http target waits for the redis target, if the config has
 * one: an HTTP cache usually stands in front of an app that reads through Redis, and purging it
 * first lets a request in between cache the old value Redis still serves, until the edge TTL.
 * Memcached and Redis targets sit beside the app's other caches: no ordering unless asked for.
 */
function resolveAfter(name: string, entry: Record<string, unknown>, redisTarget: string | undefined, names: readonly string[], problems: ConfigProblem[]): string | null {
  const after = entry.after;
  if (after === undefined) return entry.type === 'http' && redisTarget !== undefined ? redisTarget : null;
  if (after === NO_ORDER) return null;
  const path = `targets.${name}.after`;
  if (after === name) {
    problems.push({ path, message: `names the target itself: name the target whose cache sits behind this one (it must confirm a change first), or ${NO_ORDER}` });
  } else if (!names.includes(after as string)) {
    const others = names.filter((other) => other !== name);
    problems.push({ path, message: `names no target of this config ("${String(after)}"): ${others.length > 0 ? `one of ${others.join(', ')}, ` : ''}or ${NO_ORDER}` });
  }
  return after as string;
}

/** A cycle of `after` would have every target on it wait for the next forever: reported once, at its first target. */
function checkAfterCycles(targets: Readonly<Record<string, TargetSettings>>, problems: ConfigProblem[]): void {
  const reported = new Set<string>();
  for (const start of Object.keys(targets)) {
    if (reported.has(start)) continue;
    const chain: string[] = [];
    let at: string | null | undefined = start;
    while (at != null && targets[at] !== undefined && !chain.includes(at)) {
      chain.push(at);
      at = targets[at]?.after;
    }
    // A target naming itself (a chain of one) is reported by resolveAfter.
    if (at !== start || chain.length < 2) continue;
    for (const member of chain) reported.add(member);
    problems.push({ path: `targets.${start}.after`, message: `${[...chain, start].join(' -> ')} is a cycle: each target would wait for the next forever; remove after from one of them (or set it to ${NO_ORDER})` });
  }
}

/** DATABASE_URL, KAFKA_BROKERS and REDIS_URL win over the file: containers and tests set them. */
function applyEnvOverrides(raw: Record<string, unknown>, env: Env): void {
  const section = (name: string) => {
    const existing = raw[name];
    if (existing === undefined || existing === null) raw[name] = {};
    return raw[name] as Record<string, unknown>;
  };
  if (env.DATABASE_URL) section('postgres').url = env.DATABASE_URL;
  if (env.KAFKA_BROKERS) section('kafka').brokers = env.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean);
  if (env.REDIS_URL) section('redis').url = env.REDIS_URL;
}

function requireSetting(value: unknown, path: string, envName: string, problems: ConfigProblem[]): void {
  if (value === undefined) problems.push({ path, message: `is required: set it in the file or in the environment variable ${envName}` });
}

function readTlsFiles(value: unknown, at: string, baseDir: string, problems: ConfigProblem[]): TlsFiles {
  const spec = value as { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  const read = (name: 'ca' | 'cert' | 'key') => {
    const rel = spec[name];
    if (rel === undefined) return undefined;
    const abs = resolve(baseDir, rel);
    try {
      return readFileSync(abs, 'utf8');
    } catch (err) {
      problems.push({ path: `${at}.${name}`, message: `cannot read ${abs}: ${(err as Error).message}` });
      return undefined;
    }
  };
  const files: TlsFiles = { rejectUnauthorized: spec.rejectUnauthorized ?? true };
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  if (ca !== undefined) files.ca = ca;
  if (cert !== undefined) files.cert = cert;
  if (key !== undefined) files.key = key;
  return files;
}

/** Turns an ajv error into "tables.public.products.keys[1]: must be string". */
export function fromAjvError(error: ErrorObject): ConfigProblem {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = '';
  for (const segment of segments) path += /^\d+$/.test(segment) ? `[${segment}]` : path ? `.${segment}` : segment;
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    return { path, message: `unknown setting "${String(params.additionalProperty)}" (check the spelling against schemas/config.schema.json)` };
  }
  if (error.keyword === 'enum') {
    return { path, message: `${error.message ?? 'invalid'}: ${(params.allowedValues as unknown[]).map(String).join(', ')}` };
  }
  if (error.keyword === 'propertyNames' && path === 'targets') {
    return { path, message: `"${String(params.propertyName)}" is not a target name: use lowercase letters, digits and -, starting with a letter (it becomes part of the consumer group)` };
  }
  if (error.keyword === 'propertyNames') {
    return { path, message: `"${String(params.propertyName)}" is not a table name: write schema.table, e.g. public.products` };
  }
  return { path, message: error.message ?? 'is invalid' };
}

export function configError(file: string, problems: readonly ConfigProblem[]): EvictdError {
  const lines = problems.map((p) => `  - ${p.path || '(file)'}: ${p.message}`);
  return new EvictdError('CONFIG_INVALID', `invalid config ${file}:\n${lines.join('\n')}`, { context: { file, problems } });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
