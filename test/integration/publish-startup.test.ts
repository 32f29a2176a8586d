// Start-up checks: what is wrong with the database setup is named, with what to run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { stackEnv, uniqueName } from '../support/index.js';
import { publishConfig, startPublisher } from './publish-helpers.js';

const env = stackEnv();
const ns = uniqueName('pub_start');
const products = `${ns}_products`;
const keyless = `${ns}_keyless`;
const role = `${ns}_norepl`;
const db = new pg.Client({ connectionString: env.DATABASE_URL });

before(async () => {
  await db.connect();
  await db.query(`CREATE TABLE ${products} (id int PRIMARY KEY, category_id int)`);
  await db.query(`CREATE TABLE ${keyless} (name text)`);
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
});

after(async () => {
  await db.query(`DROP TABLE IF EXISTS ${products}, ${keyless}`);
  await db.query(`DROP ROLE IF EXISTS ${role}`);
  await db.query(`DROP PUBLICATION IF EXISTS ${ns}`);
  await db.end();
});

const slotExists = async () => (await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [ns])).rowCount! > 0;

test('each setup problem fails the start with the object named and the fix spelled out', async () => {
  const cases: { name: string; tables: string; env?: Partial<typeof env>; yaml?: { publish?: string }; postgres?: string; error: RegExp }[] = [
    { name: 'missing table', tables: `  public.${ns}_nope: { keys: ["x:{id}"] }`, error: new RegExp(`public\\.${ns}_nope do not exist`) },
    { name: 'table without replica identity', tables: `  public.${keyless}: { keys: ["k:{name}"] }`, error: new RegExp(`${keyless}.*no replica identity.*REPLICA IDENTITY FULL`, 's') },
    {
      name: 'rule needs an old value REPLICA IDENTITY DEFAULT does not send',
      tables: `  public.${products}: { keys: ["p:{id}"], tags: ["c:{category_id}"] }`,
      error: new RegExp(`tables\\.public\\.${products}\\.tags\\[0\\].*category_id.*ALTER TABLE public\\.${products} REPLICA IDENTITY FULL`, 's'),
    },
    {
      name: 'role without REPLICATION',
      tables: `  public.${products}: { keys: ["p:{id}"] }`,
      env: { DATABASE_URL: env.DATABASE_URL.replace('postgres@', `${role}:pw@`) },
      error: new RegExp(`role "${role}" may not use replication: run ALTER ROLE "${role}" WITH REPLICATION`),
    },
  ];
  for (const c of cases) {
    const config = publishConfig({ ...env, ...c.env }, ns, c.tables);
    await assert.rejects(startPublisher(config), c.error, c.name);
  }
  assert.equal(await slotExists(), false, 'no slot is created when a check fails');
});

test('a missing publication that evictd may not create is named with the statement to run', async () => {
  const config = publishConfig(env, ns, `  public.${products}: { keys: ["p:{id}"] }`);
  const noCreate = { ...config, postgres: { ...config.postgres, createPublication: false } };
  await assert.rejects(startPublisher(noCreate), new RegExp(`publication "${ns}" does not exist.*CREATE PUBLICATION "${ns}" FOR TABLE "public"\\."${products}"`, 's'));
  assert.equal(await slotExists(), false);
});
