/**
 * docs/operators-guide.md and docs/docker.md against the code: the settings table is the one the
 * schema generates, every setting, metric, command and repository file they name exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRegistry } from '../../services/invalidator/src/observability/metrics.js';
import { REPO_ROOT } from './compose-file.js';
import { GUIDE_FILE, TABLE_BEGIN, TABLE_END, deref, optionsTable, readConfigSchema, withGeneratedTable, type JsonSchema } from './options-table.js';

const DOCS = [GUIDE_FILE, resolve(REPO_ROOT, 'docs/docker.md')];
const docs = DOCS.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
const guide = readFileSync(GUIDE_FILE, 'utf8');
const schema = readConfigSchema();

/** Every `inline code` span of the docs. */
function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');
}

/** Does `a.b.c` name a setting of the config schema? `<tls>.x` names a field of the TLS files. */
function settingExists(path: string): boolean {
  const [head = '', ...rest] = path.split('.');
  let node: JsonSchema | undefined = head === '<tls>' ? schema.definitions?.tls : schema.properties?.[head];
  for (const name of rest) {
    if (!node) return false;
    const resolved: JsonSchema = deref(node, schema);
    const branches = [resolved, ...(resolved.oneOf ?? []).map((b) => deref(b, schema))];
    node = branches.map((b) => b.properties?.[name]).find((p) => p !== undefined);
  }
  return node !== undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

test('the settings table of the guide is the one generated from schemas/config.schema.json', () => {
  assert.ok(guide.includes(TABLE_BEGIN) && guide.includes(TABLE_END));
  assert.equal(guide, withGeneratedTable(guide), 'the table is out of date: run node --import tsx test/docker/options-table.ts --write');
  for (const section of ['postgres', 'kafka', 'redis', 'publish', 'invalidate', 'http', 'log']) {
    assert.ok(optionsTable().includes(`\`${section}.`), `no ${section}.* rows`);
  }
});

test('the setting lookup used below finds real settings and rejects made-up ones', () => {
  for (const path of ['postgres.createPublication', 'kafka.sasl.password', 'kafka.ssl.ca', 'redis.tls.rejectUnauthorized', '<tls>.cert']) {
    assert.ok(settingExists(path), path);
  }
  for (const path of ['postgres.sslmode', 'kafka.sasl.token', 'redis.tls.verify', 'invalidate.group']) {
    assert.ok(!settingExists(path), path);
  }
});

test('every setting the docs name exists in the config schema', () => {
  const sections = Object.keys(schema.properties ?? {}).filter((s) => s !== 'tables');
  const pattern = new RegExp(`^(?:${sections.join('|')}|<tls>)(?:\\.[A-Za-z]+)+$`);
  for (const { file, text } of docs) {
    const named = codeSpans(text).flatMap((span) => span.split(/[\s,:]+/)).filter((word) => pattern.test(word));
    assert.ok(named.length > 0 || !file.endsWith('operators-guide.md'));
    for (const path of new Set(named)) assert.ok(settingExists(path), `${file}: \`${path}\` is not a setting of schemas/config.schema.json`);
  }
});

test('every metric the docs name is registered by evictd', async () => {
  const sources = sourceFiles(resolve(REPO_ROOT, 'services/invalidator/src')).map((f) => readFileSync(f, 'utf8')).join('\n');
  const defaults = new Set((await createRegistry().getMetricsAsJSON()).map((m) => m.name));
  const named = new Set(docs.flatMap(({ text }) => [...text.matchAll(/\bevictd_[a-z_]+[a-z]\b/g)].map((m) => m[0])));
  assert.ok(named.size >= 10);
  for (const metric of named) {
    assert.ok(defaults.has(metric) || sources.includes(`name: '${metric}'`), `${metric} is named in the docs but registered nowhere`);
  }
});

test('every evictd command the docs name exists in the CLI', () => {
  const cli = readFileSync(resolve(REPO_ROOT, 'services/invalidator/src/cli.ts'), 'utf8');
  const usage = /const USAGE = `([\s\S]*?)`;/.exec(cli)?.[1] ?? '';
  const commands = new Set([...usage.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1]));
  assert.deepEqual([...commands].sort(), ['check-config', 'invalidate', 'publish', 'registry', 'run']);
  for (const { file, text } of docs) {
    for (const [, command] of text.matchAll(/\bevictd ([a-z][a-z-]+) --config/g)) {
      assert.ok(commands.has(command), `${file}: evictd ${command} is not a command of cli.ts`);
    }
  }
});

test('every repository file the docs name exists', () => {
  const filePattern = /^(?:[\w.-]+\/)+[\w.-]+\.(?:ts|sql|json|ya?ml|md)$|^(?:docker-compose\.yml|\.dockerignore)$|^infra\/docker\/Dockerfile$/;
  for (const { file, text } of docs) {
    for (const span of new Set(codeSpans(text).filter((s) => filePattern.test(s) && !s.startsWith('/')))) {
      assert.ok(existsSync(resolve(REPO_ROOT, span)), `${file}: names ${span}, which does not exist`);
    }
  }
});
