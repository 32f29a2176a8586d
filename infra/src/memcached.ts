/**
 * A throw-away memcached on a free loopback port, for the Memcached target's tests and bench
 * (never the machine's own on 11211). As root it runs as the `memcache` user Debian's package
 * creates (or `nobody`), since memcached refuses root without `-u`. It is stopped by its pid, and
 * killed by the exit hook / watchdog like the stack's servers if its owner dies first.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { memcachedBinary } from './prerequisites.js';
import { ManagedServer, startStandalone, type ServiceName } from './server.js';

export interface MemcachedOptions {
  /** Default: a free port. */
  port?: number;
  /** Item memory in MiB (memcached -m); default 64. */
  memoryMb?: number;
  readyTimeoutMs?: number;
}

export interface LocalMemcached {
  readonly port: number;
  /** `127.0.0.1:<port>`, as a target's `servers` entry. */
  readonly address: string;
  /** undefined while it is down. */
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Starts it again on the same port (empty: memcached keeps nothing). */
  start(): Promise<void>;
  /** SIGKILL, like a crash. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that holds connections open but answers nothing. */
  pause(): void;
  resume(): void;
  /** Graceful stop, then removes its directory. */
  stop(): Promise<void>;
}

/** The user memcached runs as under root: Debian's `memcache`, else `nobody`. */
function runAsUser(): string[] {
  if (process.getuid?.() !== 0) return [];
  const users = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')[0]);
  return ['-u', users.includes('memcache') ? 'memcache' : 'nobody'];
}

export async function startMemcached(options: MemcachedOptions = {}): Promise<LocalMemcached> {
  const command = memcachedBinary();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'evictd-memcached-'));
  const logFile = join(dir, 'memcached.log');
  const server = new ManagedServer({
    // ServiceName lists the stack's servers; this one is started on its own, outside the stack.
    name: 'memcached' as ServiceName,
    port,
    logFile,
    dataDir: dir,
    command,
    // -U 0: no UDP; -l: loopback only; -v: errors and warnings to the log.
    args: ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', String(options.memoryMb ?? 64), '-c', '1024', '-v', ...runAsUser()],
    ports: [port],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 5_000,
    readyTimeoutMs: options.readyTimeoutMs ?? 15_000,
    probe: () => memcachedAnswers(port),
  });
  const release = await startStandalone(server, dir);
  const signal = (sig: NodeJS.Signals) => {
    if (server.pid !== undefined) process.kill(server.pid, sig);
  };
  return {
    port,
    address: `127.0.0.1:${port}`,
    get pid() {
      return server.pid;
    },
    logFile,
    start: () => server.start(),
    kill: () => server.kill(),
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    stop: async () => {
      signal('SIGCONT'); // a paused server cannot act on SIGTERM
      await server.stop();
      release();
    },
  };
}

/** One `version` round trip: true once memcached itself answers on 127.0.0.1:`port`. */
export function memcachedAnswers(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('version\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('VERSION '));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}
