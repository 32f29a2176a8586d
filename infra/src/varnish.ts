/**
 * A throw-away varnishd on a free loopback port, for the HTTP purge target's tests, bench and the
 * demo (never the machine's own on 6081). The caller gives the VCL; varnishd gets its own -n
 * working directory under a temp dir. As root varnishd drops privileges itself (its default
 * `-j unix` jail, as Debian's `varnish` and `vcache` users), so the temp dir is made readable for
 * them. It is stopped by its pid, and killed by the exit hook / watchdog like the stack's servers
 * if its owner dies first.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { findExecutable, MissingPrerequisiteError } from './prerequisites.js';
import { ManagedServer, startStandalone, type ServiceName } from './server.js';

export interface VarnishOptions {
  /** The VCL text (written to a file in varnishd's directory). */
  vcl: string;
  /** Default: a free port. */
  port?: number;
  /** Cache memory in MiB (-s malloc); default 64. */
  memoryMb?: number;
  /** Extra `-p name=value` parameters. */
  params?: Readonly<Record<string, string>>;
  readyTimeoutMs?: number;
}

export interface LocalVarnish {
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The management process (its cache child is killed with it); undefined while it is down. */
  readonly pid: number | undefined;
  readonly logFile: string;
  /** `varnishadm` for this instance: returns its output, throws on a non-zero exit. */
  admin(...args: string[]): string;
  /** Loads this VCL text under a new name and makes it the active one (the cache is kept). */
  useVcl(vcl: string): void;
  /** Starts it again on the same port (empty cache). */
  start(): Promise<void>;
  /** SIGKILL, like a crash. */
  kill(): Promise<void>;
  /** Graceful stop, then removes its directory. */
  stop(): Promise<void>;
}

function varnishBinaries(): { varnishd: string; varnishadm: string } {
  const varnishd = findExecutable('varnishd', ['/usr/sbin']);
  const varnishadm = findExecutable('varnishadm', ['/usr/bin']);
  if (!varnishd || !varnishadm) throw new MissingPrerequisiteError('varnishd not found: install Varnish (apt-get install -y varnish varnish-modules)');
  return { varnishd, varnishadm };
}

export async function startVarnish(options: VarnishOptions): Promise<LocalVarnish> {
  const { varnishd, varnishadm } = varnishBinaries();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'evictd-varnish-'));
  // varnishd's jail users must reach the VCL and their working directory below this one.
  chmodSync(dir, 0o755);
  const workDir = join(dir, 'work');
  const vclFile = join(dir, 'default.vcl');
  writeFileSync(vclFile, options.vcl);
  chmodSync(vclFile, 0o644);
  const logFile = join(dir, 'varnishd.log');
  const params = Object.entries({ vsl_space: '16M', ...options.params }).flatMap(([k, v]) => ['-p', `${k}=${v}`]);
  const admin = (...args: string[]): string => {
    const r = spawnSync(varnishadm, ['-n', workDir, '-t', '5', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`varnishadm ${args.join(' ')} failed (exit ${r.status}): ${(r.stdout + r.stderr).trim()}`);
    return r.stdout;
  };
  let loaded = 0;
  const server = new ManagedServer({
    // ServiceName lists the stack's servers; this one is started on its own, outside the stack.
    name: 'varnish' as ServiceName,
    port,
    logFile,
    dataDir: dir,
    command: varnishd,
    // -F: foreground (the pid is the manager's); -T: the admin CLI on a loopback port of its own choosing.
    args: ['-F', '-n', workDir, '-a', `127.0.0.1:${port}`, '-T', '127.0.0.1:0', '-f', vclFile, '-s', `malloc,${options.memoryMb ?? 64}m`, ...params],
    ports: [port],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    probe: async () => {
      try {
        return /running/.test(admin('status'));
      } catch {
        return false;
      }
    },
  });
  const release = await startStandalone(server, dir);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get pid() {
      return server.pid;
    },
    logFile,
    admin,
    useVcl(text) {
      const name = `vcl${++loaded}`;
      const file = join(dir, `${name}.vcl`);
      writeFileSync(file, text);
      chmodSync(file, 0o644);
      admin('vcl.load', name, file);
      admin('vcl.use', name);
    },
    start: () => server.start(),
    kill: () => server.kill(),
    stop: async () => {
      await server.stop();
      release();
    },
  };
}
