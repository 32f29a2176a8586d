// `evictd check-config` against the live catalog: missing tables and columns, and templates that
// need old values the replica identity does not send, listed with their path; exit 0 once fixed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stackEnv, uniqueName } from '../support/index.js';
import { runCli } from '../support/process.js';
import { parseConfig } from '../../services/invalidator/src/config/index.js';
import { EvictdError } from '../../services/invalidator/src/errors.js';
import { startInvalidator } from './invalidate-helpers.js';

const env = stackEnv();
const ns = uniqueName('inv_check');
const table = `${ns}_products`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const dir = mkdtempSync(join(tmpdir(), 'evictd-check-'));

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, category_id int)`);
});

after(async () => {
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
});

function checkConfig(tables: string, extra = ''): Promise<{ code: number | null; output: string }> {
  const file = join(dir, `${uniqueName('cfg')}.yaml`);
  writeFileSync(file, `log: { level: silent }\n${extra}tables:\n${tables}\n`);
  return runCli(['check-config', '--config', file], { ...env });
}

const rules = `
  public.${table}:
    keys: ["product:{id}", "product:{id}:{colour}"]
    tags: ["category:{category_id}"]
    columns: [name, size]
  public.${ns}_missing:
    keys: ["m:{id}"]`;

test('lists every problem with its path and exits non-zero', async () => {
  const { code, output } = await checkConfig(rules);
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`tables\\.public\\.${table}\\.keys\\[1\\]: "product:\\{id\\}:\\{colour\\}" uses column "colour", which public\\.${table} does not have`));
  assert.match(output, new RegExp(`tables\\.public\\.${table}\\.columns\\[1\\]: column "size" does not exist`));
  assert.match(output, new RegExp(`tables\\.public\\.${table}\\.tags\\[0\\]: "category:\\{category_id\\}" needs the old value of category_id .*REPLICA IDENTITY DEFAULT.*ALTER TABLE public\\.${table} REPLICA IDENTITY FULL`));
  assert.match(output, new RegExp(`tables\\.public\\.${ns}_missing: table public\\.${ns}_missing does not exist`));
});

test('template syntax errors are reported the same way', async () => {
  const { code, output } = await checkConfig(`  public.${table}:\n    keys: ["product:{}"]`);
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`tables\\.public\\.${table}\\.keys\\[0\\]: empty placeholder`));
});

test('what a target would refuse at start: tags on Memcached, an HTTP template without its preset params', async () => {
  const targets = 'targets:\n  redis: { type: redis }\n  sessions: { type: memcached }\n  edge: { type: http, preset: fastly }\n';
  const { code, output } = await checkConfig(`  public.${table}:\n    keys: ["product:{id}"]\n    tags: ["category:{category_id}"]`, targets);
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`target sessions \\(memcached\\) cannot invalidate tags, and the rules of public\\.${table} .* have tags: set targets\\.sessions\\.tags: version-keys`));
  assert.match(output, /targets\.edge\.params\.serviceId/);
  const fine = await checkConfig(`  public.${table}:\n    keys: ["product:{id}"]`, 'targets:\n  sessions: { type: memcached }\n');
  assert.equal(fine.code, 0, fine.output);
});

test('exits 0 once the rules fit the database', async () => {
  await db.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
  const { code, output } = await checkConfig(`  public.${table}:\n    keys: ["product:{id}"]\n    tags: ["category:{category_id}"]\n    columns: [name]`);
  assert.equal(code, 0, output);
});

test('the invalidator refuses to start when a template needs a value the database will not send', async () => {
  await db.query(`ALTER TABLE ${table} REPLICA IDENTITY DEFAULT`);
  const config = parseConfig(`log: { level: silent }\ntables:\n  public.${table}:\n    tags: ["category:{category_id}"]\n`, '/etc/evictd.yaml', env as unknown as NodeJS.ProcessEnv);
  await assert.rejects(startInvalidator(config), (err: unknown) => {
    assert.ok(err instanceof EvictdError);
    assert.equal(err.code, 'CONFIG_RULES_DATABASE');
    assert.match(err.message, new RegExp(`/etc/evictd\\.yaml: tables\\.public\\.${table}\\.tags\\[0\\]: "category:\\{category_id\\}" needs the old value of category_id`));
    return true;
  });
});
