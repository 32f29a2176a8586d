// `npx evictd` from the checkout, and the package `npm pack` makes: installed into an empty
// project (no repository, no workspaces, no network) its `evictd` bin runs check-config against
// the real database.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { stackEnv, uniqueName } from '../support/index.js';
import { REPO_ROOT, writeTempConfig } from '../support/process.js';

const run = promisify(execFile);
const env = stackEnv();
const ns = uniqueName('pkg_bin');
const table = `${ns}_products`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
const dir = mkdtempSync(join(tmpdir(), 'evictd-pack-'));

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
});

after(async () => {
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
  rmSync(dir, { recursive: true, force: true });
});

const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 16 << 20 });
const yaml = () => writeTempConfig(`postgres: { slot: ${ns}, publication: ${ns} }\nlog: { level: warn }\ntables:\n  public.${table}: { keys: ["${ns}:{id}"] }\n`);

test('npx evictd runs the CLI from the checkout', async () => {
  const { stdout } = await npm(['exec', '--offline', '--', 'evictd', '--help'], REPO_ROOT);
  assert.match(stdout, /^usage: evictd <command> --config FILE/);
});

test('the packed tarball installs into an empty project and its evictd bin works', async () => {
  await npm(['pack', '--silent', '--pack-destination', dir], REPO_ROOT);
  const [tarball] = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made no tarball');
  const app = join(dir, 'app');
  await run('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  await npm(['install', '--offline', '--no-audit', '--no-fund', join(dir, tarball)], app);

  const bin = join(app, 'node_modules/.bin/evictd');
  const help = await run(bin, ['--help'], { cwd: app });
  assert.match(help.stdout, /^usage: evictd/);
  const check = await run(bin, ['check-config', '--config', yaml()], { cwd: app, env: { ...process.env, ...env } });
  assert.match(check.stdout, /OK \(1 tables checked against the database\)/);
  await assert.rejects(run(bin, ['frobnicate'], { cwd: app }), (err: { code?: number }) => err.code === 2);
});
