/**
 * Start-up checks of the publisher against the live server, with errors that say what to run:
 * wal_level, the REPLICATION attribute, the published tables and their replica identity, the
 * publication (created when allowed) and the slot (created when missing; never dropped here).
 * Postgres errors are classified by SQLSTATE (fromPgError): permissions and bad state are fatal,
 * connection trouble is retriable.
 */
import { EvictdError, fromPgError } from '../errors.js';
import { checkAgainstCatalog, readCatalog, type Catalog, type Queryable, type Rules } from '../rules/index.js';
import { formatProblem } from '../rules/index.js';
import { parseLsn, type Lsn } from './lsn.js';

export interface PublicationSettings {
  slot: string;
  publication: string;
  createPublication: boolean;
  /** `schema.table` of every published table. */
  tables: readonly string[];
  rules: Rules;
}

export interface SlotState {
  /** The slot did not exist and was created now. */
  created: boolean;
  /** Where the server resumes: confirmed_flush_lsn (for a new slot, its consistent point). */
  confirmedFlush: Lsn;
}

export interface Prepared {
  database: string;
  catalog: Catalog;
  slot: SlotState;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const qualified = (table: string) => {
  const dot = table.indexOf('.');
  return `${ident(table.slice(0, dot))}.${ident(table.slice(dot + 1))}`;
};

async function query<R>(client: Queryable, what: string, sql: string, values?: unknown[]): Promise<R[]> {
  try {
    return (await client.query(sql, values)).rows as R[];
  } catch (err) {
    throw fromPgError(err, what);
  }
}

/** Checks the server and the tables, creates the publication (when allowed) and the slot when missing. */
export async function prepare(client: Queryable, settings: PublicationSettings): Promise<Prepared> {
  const server = await checkServer(client);
  const catalog = await checkTables(client, settings);
  await ensurePublication(client, settings, server.role, false);
  const slot = await ensureSlot(client, settings.slot, server.db, false);
  return { database: server.db, catalog, slot: slot! };
}

/**
 * Everything `prepare` refuses, with the same errors, without changing the database:
 * `evictd check-config` runs this. A publication evictd would create is created in a
 * transaction that is rolled back (so a missing privilege shows), a missing slot is not created.
 */
export async function verify(client: Queryable, settings: PublicationSettings): Promise<void> {
  const server = await checkServer(client);
  await checkTables(client, settings);
  await ensurePublication(client, settings, server.role, true);
  await ensureSlot(client, settings.slot, server.db, true);
}

async function checkServer(client: Queryable): Promise<{ db: string; role: string }> {
  const [server] = await query<{ wal_level: string; db: string; role: string; can_replicate: boolean }>(
    client,
    'checking the server',
    `SELECT current_setting('wal_level') AS wal_level, current_database() AS db, current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate`,
  );
  if (!server) throw new EvictdError('PG_ERROR', 'checking the server: no answer');
  if (server.wal_level !== 'logical') {
    throw new EvictdError('PG_WAL_LEVEL', `wal_level is "${server.wal_level}", logical replication needs "logical": set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL`);
  }
  if (!server.can_replicate) {
    throw new EvictdError('PG_PERMISSION', `role "${server.role}" may not use replication: run ALTER ROLE ${ident(server.role)} WITH REPLICATION (as a superuser)`);
  }
  return server;
}

async function checkTables(client: Queryable, settings: PublicationSettings): Promise<Catalog> {
  let catalog: Catalog;
  try {
    catalog = await readCatalog(client, settings.tables);
  } catch (err) {
    throw fromPgError(err, 'reading the published tables from the catalog');
  }
  const missing = settings.tables.filter((t) => !catalog.has(t));
  if (missing.length > 0) {
    throw new EvictdError('PG_TABLE_MISSING', `published table(s) ${missing.join(', ')} do not exist (or this role cannot see them): create them, grant USAGE on their schema, or fix postgres.tables / the rules`, { context: { missing } });
  }
  // Postgres refuses UPDATE/DELETE on a published table without replica identity: the app would break.
  const keyless = settings.tables.filter((t) => catalog.get(t)?.identityColumns.length === 0);
  if (keyless.length > 0) {
    throw new EvictdError('PG_REPLICA_IDENTITY', `table(s) ${keyless.join(', ')} have no replica identity (no primary key, or REPLICA IDENTITY NOTHING); once published, UPDATE and DELETE on them would fail. Add a primary key or run ${keyless.map((t) => `ALTER TABLE ${qualified(t)} REPLICA IDENTITY FULL;`).join(' ')}`);
  }
  const unpublished = [...settings.rules.tables.keys()].filter((t) => !settings.tables.includes(t));
  if (unpublished.length > 0) {
    throw new EvictdError('CONFIG_RULES_DATABASE', `the rules map table(s) ${unpublished.join(', ')}, which postgres.tables does not publish: their changes would never invalidate anything. Add them to postgres.tables or remove their rules`, { context: { unpublished } });
  }
  // Unknown columns in templates and old values the replica identity will not send: refuse to start.
  const problems = checkAgainstCatalog(settings.rules, catalog);
  if (problems.length > 0) {
    throw new EvictdError('CONFIG_RULES_DATABASE', `the rules do not fit the database:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`, { context: { problems } });
  }
  return catalog;
}

interface PublicationRow {
  puballtables: boolean;
  pubinsert: boolean;
  pubupdate: boolean;
  pubdelete: boolean;
  pubtruncate: boolean;
}

const PUBLICATION_SQL = 'SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1';

async function ensurePublication(client: Queryable, settings: PublicationSettings, role: string, dryRun: boolean): Promise<void> {
  const { publication } = settings;
  const createSql = `CREATE PUBLICATION ${ident(publication)} FOR TABLE ${settings.tables.map(qualified).join(', ')}`;
  let [row] = await query<PublicationRow>(client, `reading publication ${publication}`, PUBLICATION_SQL, [publication]);
  if (!row) {
    if (!settings.createPublication) {
      throw new EvictdError('PG_PUBLICATION_MISSING', `publication "${publication}" does not exist and postgres.createPublication is false: run ${createSql}; (or set createPublication: true)`);
    }
    if (dryRun) {
      await query(client, 'starting a transaction', 'BEGIN');
      try {
        await createPublication(client, createSql, publication, role);
      } finally {
        await query(client, 'rolling back', 'ROLLBACK');
      }
      return;
    }
    await createPublication(client, createSql, publication, role);
    [row] = await query<PublicationRow>(client, `reading publication ${publication}`, PUBLICATION_SQL, [publication]);
    if (!row) throw new EvictdError('PG_PUBLICATION_MISSING', `publication "${publication}" vanished right after it was created`, { retriable: true });
  }
  const skipped = (['insert', 'update', 'delete', 'truncate'] as const).filter((op) => !row[`pub${op}`]);
  if (skipped.length > 0) {
    throw new EvictdError('PG_PUBLICATION', `publication "${publication}" does not publish ${skipped.join(', ')}, so those changes would never be invalidated: run ALTER PUBLICATION ${ident(publication)} SET (publish = 'insert, update, delete, truncate')`);
  }
  if (row.puballtables) return;
  const published = new Set(
    (await query<{ t: string }>(client, `reading tables of publication ${publication}`, `SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1`, [publication])).map((r) => r.t),
  );
  const absent = settings.tables.filter((t) => !published.has(t));
  if (absent.length > 0) {
    throw new EvictdError('PG_PUBLICATION', `publication "${publication}" does not include ${absent.join(', ')}, so their changes would never arrive: run ALTER PUBLICATION ${ident(publication)} ADD TABLE ${absent.map(qualified).join(', ')};`);
  }
}

async function createPublication(client: Queryable, createSql: string, publication: string, role: string): Promise<void> {
  try {
    await client.query(createSql);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42501') {
      throw new EvictdError('PG_PERMISSION', `cannot create publication "${publication}": role "${role}" must own the tables (and have CREATE on the database). Ask an admin to run: ${createSql};`, { cause: err });
    }
    if (code !== '42710') throw fromPgError(err, `creating publication ${publication}`); // 42710: created concurrently
  }
}

interface SlotRow {
  plugin: string | null;
  slot_type: string;
  database: string | null;
  confirmed_flush_lsn: string | null;
  wal_status: string | null;
}

const SLOT_SQL = 'SELECT plugin, slot_type, database, confirmed_flush_lsn::text, wal_status FROM pg_replication_slots WHERE slot_name = $1';

/** The slot's state, created first when missing (never in a dry run: then null when missing). */
async function ensureSlot(client: Queryable, slot: string, database: string, dryRun: boolean): Promise<SlotState | null> {
  let created = false;
  let [row] = await query<SlotRow>(client, `reading replication slot ${slot}`, SLOT_SQL, [slot]);
  if (!row && dryRun) return null; // creating it needs REPLICATION, which checkServer has checked
  if (!row) {
    try {
      await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
      created = true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '42501') {
        throw new EvictdError('PG_PERMISSION', `cannot create replication slot "${slot}": the role needs the REPLICATION attribute (ALTER ROLE ... WITH REPLICATION), or an admin runs SELECT pg_create_logical_replication_slot('${slot}', 'pgoutput');`, { cause: err });
      }
      if (code !== '42710') throw fromPgError(err, `creating replication slot ${slot}`); // 42710: created concurrently
    }
    [row] = await query<SlotRow>(client, `reading replication slot ${slot}`, SLOT_SQL, [slot]);
    if (!row) throw new EvictdError('PG_SLOT', `replication slot "${slot}" vanished right after it was created`, { retriable: true });
  }
  if (row.slot_type !== 'logical' || row.plugin !== 'pgoutput' || row.database !== database) {
    throw new EvictdError('PG_SLOT', `replication slot "${slot}" is a ${row.slot_type} slot with plugin ${row.plugin ?? 'none'} on database ${row.database ?? 'none'}; evictd needs a logical pgoutput slot on ${database}: set postgres.slot to another name, or drop that slot if it is unused`);
  }
  if (row.wal_status === 'lost') {
    throw new EvictdError('PG_SLOT_LOST', `replication slot "${slot}" was invalidated (wal_status = lost: the WAL it needed was removed, see max_slot_wal_keep_size) and can no longer stream; changes since its last position are unknown. Drop it with SELECT pg_drop_replication_slot('${slot}'); and restart evictd: it recreates the slot and, with publish.lostSlot: flush, flushes every published table`);
  }
  if (!row.confirmed_flush_lsn) throw new EvictdError('PG_SLOT', `replication slot "${slot}" has no confirmed_flush_lsn yet (still being created?)`, { retriable: true });
  return { created, confirmedFlush: parseLsn(row.confirmed_flush_lsn) };
}
