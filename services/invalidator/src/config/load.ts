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
import type { ConfigProblem, EvictdConfig, TlsFiles } from './types.js';

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
    const errors = (validateShape.errors ?? []).filter((e) => e.propertyName === undefined);
    problems.push(...errors.map(fromAjvError));
  }
  if (problems.length > 0) throw configError(file, problems);

  const config = raw as unknown as Omit<EvictdConfig, 'file'> & { file?: string };
  requireSetting(config.postgres.url, 'postgres.url', 'DATABASE_URL', problems);
  requireSetting(config.kafka.brokers, 'kafka.brokers', 'KAFKA_BROKERS', problems);
  requireSetting(config.redis.url, 'redis.url', 'REDIS_URL', problems);
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
