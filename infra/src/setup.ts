/**
 * What a fresh machine needs before `npm test` or `npm run demo` can start the local stack: the
 * system packages (PostgreSQL server, redis-server, Java, Maven while the Kafka jars are missing,
 * Chromium for the browser test, memcached for the Memcached target's tests) and the Kafka jars.
 * On Debian/Ubuntu as root the missing packages are installed with apt; anywhere else the one
 * command that installs them is printed and the step fails. (node_modules comes before this, from
 * infra/bootstrap.mjs.) `.ci/run` runs the same.
 *
 *   node --import tsx infra/src/setup.ts [test|demo]     (npm run setup: test)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKafkaJars, needsKafkaJars } from './kafka.js';
import { findExecutable, javaBinary, MissingPrerequisiteError, postgresBinaries } from './prerequisites.js';

/** What is about to run: the local stack (Postgres, Redis, Kafka), the browser test. */
export interface Purpose {
  stack: boolean;
  browser: boolean;
  /** A JDK, not only a JRE: the Kafka Connect compatibility test runs a Java source file. */
  javaCompiler: boolean;
  /** memcached, for the Memcached target's tests and bench (each starts its own on a free port). */
  memcached?: boolean;
  /** varnishd and vmod xkey, for the HTTP purge target's tests and bench (each starts its own varnishd). */
  varnish?: boolean;
}

/** `npm test` (everything) and `npm run demo`. */
export const PURPOSES = {
  test: { stack: true, browser: true, javaCompiler: true, memcached: true, varnish: true },
  demo: { stack: true, browser: false, javaCompiler: false },
} as const satisfies Record<string, Purpose>;

/** A system package evictd's local stack (or a test) needs. */
export interface Need {
  what: string;
  /** Debian/Ubuntu packages, best first: the first one the archive has is installed. */
  apt: readonly string[];
  /** Homebrew formula, where there is one. */
  brew?: string;
}

export const NEEDS = {
  postgres: { what: 'PostgreSQL server (initdb, postgres)', apt: ['postgresql-15', 'postgresql'], brew: 'postgresql@15' },
  redis: { what: 'redis-server', apt: ['redis-server'], brew: 'redis' },
  java: { what: 'Java 17 or newer', apt: ['openjdk-17-jre-headless', 'default-jre-headless'], brew: 'openjdk@17' },
  jdk: { what: 'a Java 17 JDK (javac: a test runs Java source)', apt: ['openjdk-17-jdk-headless', 'default-jdk-headless'], brew: 'openjdk@17' },
  maven: { what: 'Maven (to fetch the Kafka jars once)', apt: ['maven'], brew: 'maven' },
  chromium: { what: 'Chromium (the demo page test)', apt: ['chromium'] },
  memcached: { what: 'memcached (the Memcached target tests)', apt: ['memcached'], brew: 'memcached' },
  varnish: { what: 'varnishd (the HTTP purge target tests)', apt: ['varnish'], brew: 'varnish' },
  varnishModules: { what: 'vmod xkey (Debian varnish-modules, the HTTP purge target tests)', apt: ['varnish-modules'] },
} as const satisfies Record<string, Need>;

const present = (check: () => unknown): boolean => {
  try {
    check();
    return true;
  } catch (err) {
    if (err instanceof MissingPrerequisiteError) return false;
    throw err;
  }
};

/** javac next to the java that runs the broker (JAVA_HOME/bin, or PATH). */
const javaCompiler = (): boolean => present(javaBinary) && findExecutable('javac', process.env.JAVA_HOME ? [join(process.env.JAVA_HOME, 'bin')] : []) !== undefined;

/** vmod xkey as Debian's varnish-modules installs it. */
export const DEBIAN_XKEY_VMOD = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/varnish/vmods/libvmod_xkey.so`;

/** Where the browser test finds Chromium: CHROMIUM_PATH, or Debian's. */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The needs of `purpose` that this machine does not meet. */
export function missingNeeds(purpose: Purpose): Need[] {
  const missing: Need[] = [];
  if (purpose.stack) {
    if (!present(postgresBinaries)) missing.push(NEEDS.postgres);
    if (!findExecutable('redis-server')) missing.push(NEEDS.redis);
  }
  // Kafka (broker and Connect) jars: for the broker, and for the Connect check run with javac.
  if (purpose.stack || purpose.javaCompiler) {
    // The JDK brings java too.
    if (purpose.javaCompiler && !javaCompiler()) missing.push(NEEDS.jdk);
    else if (!present(javaBinary)) missing.push(NEEDS.java);
    if (needsKafkaJars() && !findExecutable('mvn')) missing.push(NEEDS.maven);
  }
  if (purpose.browser && !existsSync(chromiumPath())) missing.push(NEEDS.chromium);
  if (purpose.memcached && !findExecutable('memcached')) missing.push(NEEDS.memcached);
  if (purpose.varnish) {
    if (!findExecutable('varnishd', ['/usr/sbin'])) missing.push(NEEDS.varnish);
    // Debian packages vmod xkey separately; elsewhere it comes with Varnish or the operator adds it.
    if (existsSync('/etc/debian_version') && !existsSync(DEBIAN_XKEY_VMOD)) missing.push(NEEDS.varnishModules);
  }
  return missing;
}

export interface Host {
  root: boolean;
  apt: boolean;
  brew: boolean;
}

export type Plan = { kind: 'none' } | { kind: 'apt'; needs: readonly Need[] } | { kind: 'print'; command: string };

/** What to do about `missing` on `host`: install with apt (Debian/Ubuntu as root) or print the command. */
export function planInstall(missing: readonly Need[], host: Host): Plan {
  if (missing.length === 0) return { kind: 'none' };
  if (host.apt && host.root) return { kind: 'apt', needs: missing };
  if (host.apt) return { kind: 'print', command: `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.map((n) => n.apt[0]).join(' ')}` };
  const formulas = missing.flatMap((n) => (n.brew ? [n.brew] : []));
  const other = missing.filter((n) => !n.brew).map((n) => n.what);
  if (host.brew && formulas.length > 0) {
    return { kind: 'print', command: `brew install ${formulas.join(' ')}${other.length ? ` (and install ${other.join(', ')} yourself)` : ''}` };
  }
  return { kind: 'print', command: `install ${missing.map((n) => n.what).join(', ')} with your system's package manager` };
}

function currentHost(): Host {
  return { root: process.getuid?.() === 0, apt: existsSync('/etc/debian_version') && !!findExecutable('apt-get'), brew: !!findExecutable('brew') };
}

function run(command: string, args: readonly string[]): number {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status ?? 1;
}

/** apt-get install as root, with the distribution's services kept from starting (the stack starts its own). */
function aptInstall(needs: readonly Need[], say: (message: string) => void): void {
  if (run('apt-get', ['update', '-q']) !== 0) throw new MissingPrerequisiteError('apt-get update failed (see above): fix the package sources and run it again');
  // The first candidate the archive knows (postgresql-15 on Debian 12, postgresql on newer releases).
  const packages = needs.map((n) => n.apt.find((p) => spawnSync('apt-cache', ['show', p], { stdio: 'ignore' }).status === 0) ?? n.apt[0]!);
  say(`installing ${packages.join(' ')} with apt-get (once)...`);
  // policy-rc.d exit 101 = "not allowed": package scripts must not start postgres/redis services.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) {
    writeFileSync(policy, '#!/bin/sh\nexit 101\n');
    chmodSync(policy, 0o755);
  }
  try {
    const code = run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages]);
    if (code !== 0) throw new MissingPrerequisiteError(`apt-get install ${packages.join(' ')} failed (exit code ${code}, see above)`);
  } finally {
    if (ownPolicy && readFileSync(policy, 'utf8').includes('exit 101')) rmSync(policy);
  }
}

/**
 * Makes the machine ready for `purpose`, installing what it can; throws MissingPrerequisiteError
 * with the exact command when it cannot. Quick when everything is there (a few file checks).
 */
export async function ensureSetup(purpose: Purpose, say: (message: string) => void, host: Host = currentHost()): Promise<void> {
  const missing = missingNeeds(purpose);
  const plan = planInstall(missing, host);
  if (plan.kind === 'print') {
    throw new MissingPrerequisiteError(`missing ${missing.map((n) => n.what).join(', ')}: run\n  ${plan.command}\nthen try again`);
  }
  if (plan.kind === 'apt') aptInstall(plan.needs, say);
  const left = missingNeeds(purpose);
  if (left.length > 0) throw new MissingPrerequisiteError(`still missing after installing: ${left.map((n) => n.what).join(', ')}`);
  if (!purpose.stack && !purpose.javaCompiler) return;
  const logDir = mkdtempSync(join(tmpdir(), 'evictd-setup-'));
  if (!(await ensureKafkaJars(say, logDir))) rmSync(logDir, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = process.argv[2] ?? 'test';
  if (name !== 'test' && name !== 'demo') {
    process.stderr.write(`usage: setup.ts [test|demo] (got ${name})\n`);
    process.exit(2);
  }
  ensureSetup(PURPOSES[name], (m) => process.stderr.write(`setup: ${m}\n`)).then(
    () => process.stderr.write(`setup: everything \`npm ${name === 'test' ? 'test' : 'run demo'}\` needs is here\n`),
    (err: unknown) => {
      process.stderr.write(`setup: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
