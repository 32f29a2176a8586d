import { chownSync, existsSync, mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { postgresBinaries, postgresOsUser } from './prerequisites.js';
import { ManagedServer, type LocalService } from './server.js';
import { runToCompletion } from './command.js';

/** The database DATABASE_URL points at (created on first start). */
export const DATABASE = 'app';

/**
 * Test-stack settings. fsync/full_page_writes off only risk data on an OS crash, which a throw-away
 * stack does not care about; synchronous_commit stays on so a commit survives `kill -9` of the server
 * (fault tests count on committed rows being there after a restart).
 */
const SETTINGS: Record<string, string | number> = {
  wal_level: 'logical',
  max_replication_slots: 64,
  max_wal_senders: 64,
  max_connections: 200,
  fsync: 'off',
  full_page_writes: 'off',
  password_encryption: "'scram-sha-256'",
  log_min_messages: 'warning',
  log_line_prefix: "'%m [%p] %q%u@%d '",
};

// Superuser `postgres` needs no password on loopback; every other role must authenticate (scram).
const HBA = `# written by @evictd/infra
local   all           postgres                  trust
host    all           postgres   127.0.0.1/32   trust
host    replication   postgres   127.0.0.1/32   trust
local   all           all                       scram-sha-256
host    all           all        127.0.0.1/32   scram-sha-256
host    replication   all        127.0.0.1/32   scram-sha-256
`;

export function postgresServer(root: string, port: number, readyTimeoutMs: number): LocalService {
  const bins = postgresBinaries();
  const user = postgresOsUser();
  const home = join(root, 'postgres');
  const dataDir = join(home, 'data');
  const socketDir = join(home, 'run');
  const logFile = join(home, 'postgres.log');
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const server = new ManagedServer({
    name: 'postgres',
    port,
    logFile,
    dataDir,
    command: bins.postgres,
    args: ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', socketDir],
    user,
    ports: [port],
    stopSignal: 'SIGINT', // "fast" shutdown: does not wait for replication clients to go away
    stopTimeoutMs: 20_000,
    readyTimeoutMs,
    probe: () => postgresAnswers(admin),
  });

  /** initdb on a fresh data dir, then start; reuses an existing data dir. */
  async function init(): Promise<void> {
    const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
    if (fresh) {
      mkdirSync(socketDir, { recursive: true });
      writeFileSync(logFile, '');
      if (user) for (const path of [home, socketDir, logFile]) chownSync(path, user.uid, user.gid);
      await runToCompletion({
        what: 'initdb',
        command: bins.initdb,
        args: ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
        logFile,
        user,
      });
      const lines = Object.entries(SETTINGS).map(([k, v]) => `${k} = ${v}`);
      appendFileSync(join(dataDir, 'postgresql.conf'), `\n# test stack (@evictd/infra)\n${lines.join('\n')}\n`);
      writeFileSync(join(dataDir, 'pg_hba.conf'), HBA);
    }
    await server.start();
    if (fresh) await query(admin, `create database ${DATABASE}`);
  }

  return { server, address: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`, init };
}

export function postgresAnswers(url: string): Promise<boolean> {
  return query(url, 'select 1').then(() => true);
}

async function query(connectionString: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000 });
  client.on('error', () => {}); // a server going away mid-probe is reported by the query itself
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}
