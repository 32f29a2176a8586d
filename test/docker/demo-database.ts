/**
 * The postgres container's first start, on the local stack: a fresh database, and in it the
 * scripts docker-compose.yml mounts into /docker-entrypoint-initdb.d, applied as the image's
 * entrypoint applies them (file name order, psql, ON_ERROR_STOP, as the owner, with the
 * container's environment). Role names get a unique prefix: roles are per cluster.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import type { StackEnv } from '../support/index.js';
import { environmentOf, postgresInitScripts, readCompose, service } from './compose-file.js';

const run = promisify(execFile);

export interface DemoDatabase {
  name: string;
  /** The postgres container's environment, with this database's role names. */
  initEnv: Record<string, string>;
  evictdUser: { name: string; password: string };
  appUser: { name: string; password: string };
  /** A URL of this database as `user` (the stack's superuser when not given). */
  url(user?: { name: string; password: string }): string;
  /** Runs one init file (as the entrypoint does) with `env` instead of the container's. */
  applyFile(file: string, env: Record<string, string | undefined>): Promise<{ stdout: string; stderr: string }>;
  /** Applies every init script in order. */
  initialize(): Promise<void>;
  /** Drops the database and the roles. */
  drop(): Promise<void>;
}

export async function createDemoDatabase(stack: StackEnv, name: string): Promise<DemoDatabase> {
  const pgService = service(readCompose(), 'postgres');
  const containerEnv = environmentOf(pgService);
  const initEnv = { ...containerEnv, EVICTD_DB_USER: `${name}_evictd`, APP_DB_USER: `${name}_app` };
  const url = (user?: { name: string; password: string }) => {
    const u = new URL(stack.DATABASE_URL);
    u.pathname = `/${name}`;
    if (user) {
      u.username = user.name;
      u.password = user.password;
    }
    return u.toString();
  };
  const applyFile = (file: string, env: Record<string, string | undefined>) =>
    run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url(), '-f', file], { env: { PATH: process.env.PATH, ...env } });

  const admin = new pg.Client({ connectionString: stack.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    initEnv,
    evictdUser: { name: initEnv.EVICTD_DB_USER, password: containerEnv.EVICTD_DB_PASSWORD ?? '' },
    appUser: { name: initEnv.APP_DB_USER, password: containerEnv.APP_DB_PASSWORD ?? '' },
    url,
    applyFile,
    async initialize() {
      for (const script of postgresInitScripts(pgService)) await applyFile(script.source, initEnv);
    },
    async drop() {
      const client = new pg.Client({ connectionString: stack.DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.query(`DROP ROLE IF EXISTS ${initEnv.EVICTD_DB_USER}, ${initEnv.APP_DB_USER}`);
      } finally {
        await client.end();
      }
    },
  };
}
