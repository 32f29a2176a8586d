import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A missing tool: the message is one line that says what to install. */
export class MissingPrerequisiteError extends Error {
  override readonly name = 'MissingPrerequisiteError';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks `name` up in PATH, then in `extraDirs`; undefined when absent. */
export function findExecutable(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

function requireExecutable(name: string, install: string, extraDirs: string[] = []): string {
  const found = findExecutable(name, extraDirs);
  if (!found) throw new MissingPrerequisiteError(`${name} not found in PATH${extraDirs.length ? ` or ${extraDirs.join(', ')}` : ''}: install it (${install})`);
  return found;
}

/** Debian keeps the server binaries (initdb, postgres) out of PATH, in /usr/lib/postgresql/<major>/bin. */
function debianPostgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

export function postgresBinaries(): PostgresBinaries {
  const install = 'apt-get install -y postgresql-15';
  const dirs = debianPostgresBinDirs();
  // Through symlinks (e.g. /usr/local/bin/initdb): postgres must come from the same installation.
  const initdb = realpathSync(requireExecutable('initdb', install, dirs));
  const postgres = join(initdb, '..', 'postgres');
  if (!isExecutable(postgres)) throw new MissingPrerequisiteError(`postgres not found beside ${initdb}: install it (${install})`);
  return { initdb, postgres };
}

export function redisServerBinary(): string {
  return requireExecutable('redis-server', 'apt-get install -y redis-server');
}

/** The Memcached target's tests and bench start their own memcached (never the system's on 11211). */
export function memcachedBinary(): string {
  return requireExecutable('memcached', 'apt-get install -y memcached');
}

export function javaBinary(): string {
  const fromHome = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : undefined;
  if (fromHome && isExecutable(fromHome)) return fromHome;
  return requireExecutable('java', 'apt-get install -y openjdk-17-jre-headless');
}

export function mavenBinary(): string {
  return requireExecutable('mvn', 'apt-get install -y maven');
}

/** PostgreSQL refuses to run as root: as root, the server runs as the `postgres` OS user. */
export function postgresOsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new MissingPrerequisiteError('running as root and there is no `postgres` OS user to run PostgreSQL as: install it (apt-get install -y postgresql-15 creates it)');
  }
  return { uid: Number(uid), gid: Number(gid) };
}
