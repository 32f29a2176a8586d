import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readSync, fstatSync, rmSync } from 'node:fs';
import { portIsFree } from './ports.js';
import { serversChanged, track, untrack, type Teardown } from './teardown.js';
import { waitFor } from './wait.js';

export type ServiceName = 'postgres' | 'redis' | 'kafka';

/** What a fault test needs from one server of the stack. */
export interface ServerHandle {
  readonly name: ServiceName;
  /** Loopback port the server listens on; kept across restarts. */
  readonly port: number;
  /** Process id of the server (the postmaster, the JVM, redis-server); undefined while it is down. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** File that receives the server's stdout and stderr. */
  readonly logFile: string;
  readonly dataDir: string;
  /** (Re)starts on the same port and data dir and resolves once the server answers requests. */
  start(): Promise<void>;
  /** Graceful shutdown (SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** SIGKILL the server and every process it forked, like a crash. */
  kill(): Promise<void>;
}

/** One server of the local stack before it runs: `init` prepares its data dir once, then starts it. */
export interface LocalService {
  server: ManagedServer;
  /** Its address, exported as DATABASE_URL / REDIS_URL / KAFKA_BROKERS. */
  address: string;
  init(): Promise<void>;
}

export interface ServerSpec {
  name: ServiceName;
  port: number;
  logFile: string;
  dataDir: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Run as this OS user (PostgreSQL under root). */
  user?: { uid: number; gid: number } | undefined;
  /** Signal for a graceful stop. */
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  readyTimeoutMs: number;
  /** Every port the server binds (Kafka: broker and controller); checked free before spawning. */
  ports: number[];
  /** One readiness probe: resolves truthy once the server really answers. */
  probe: () => Promise<boolean>;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

const TAIL_BYTES = 4096;

/** The last lines of a log file (read from its last `maxBytes` only), for error messages. */
export function logTail(file: string, lines = 25, maxBytes = TAIL_BYTES): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Process ids of every live descendant of `pid` (Linux /proc), so a crash can take a whole server down. */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the parenthesised command name: state ppid ...
    const [, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const list = children.get(Number(ppid)) ?? [];
    list.push(Number(entry));
    children.set(Number(ppid), list);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGKILLs `pid` and its descendants; returns the ids of the descendants (the caller may wait for them). */
export function killTreeSync(pid: number): number[] {
  const family = descendantPids(pid);
  // The parent first: a PostgreSQL postmaster would otherwise restart the children it lost.
  signal(pid, 'SIGKILL');
  for (const child of family) signal(child, 'SIGKILL');
  return family;
}

/** One server process with a log file, real readiness, graceful stop, crash and restart. */
export class ManagedServer implements ServerHandle {
  readonly #spec: ServerSpec;
  #child: ChildProcess | undefined;
  #exit: Promise<Exit> | undefined;

  constructor(spec: ServerSpec) {
    this.#spec = spec;
  }

  get name(): ServiceName {
    return this.#spec.name;
  }
  get port(): number {
    return this.#spec.port;
  }
  get logFile(): string {
    return this.#spec.logFile;
  }
  get dataDir(): string {
    return this.#spec.dataDir;
  }
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start(): Promise<void> {
    const spec = this.#spec;
    if (this.running) throw new Error(`${spec.name} is already running (pid ${this.pid})`);
    for (const port of spec.ports) {
      if (!(await portIsFree(port))) {
        throw new Error(`${spec.name} cannot start: 127.0.0.1:${port} is already in use (a server left running from ${spec.dataDir}? another program?)`);
      }
    }
    const log = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        stdio: ['ignore', log, log],
        // Own process group: a Ctrl-C in the terminal reaches the launcher, which stops the servers in order.
        detached: true,
        env: spec.env ?? process.env,
        ...(spec.user ?? {}),
      });
    } finally {
      closeSync(log);
    }
    // A forgotten stop() must not keep the launching process alive; its exit hook kills the servers.
    child.unref();
    this.#child = child;
    serversChanged();
    const exit = new Promise<Exit>((resolve) => {
      child.once('exit', (code, sig) => {
        serversChanged();
        resolve({ code, signal: sig });
      });
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    this.#exit = exit;

    const exited = new AbortController();
    void exit.then((e) => exited.abort(new Error(`${spec.name} exited during start (${describeExit(e)})`)));
    try {
      await waitFor(spec.probe, {
        timeoutMs: spec.readyTimeoutMs,
        what: `${spec.name} to answer on 127.0.0.1:${spec.port}`,
        intervalMs: 100,
        signal: exited.signal,
      });
      if (!this.running) throw new Error('it exited right after answering');
    } catch (err) {
      await this.kill();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`${spec.name} did not start: ${reason}\n--- last lines of ${spec.logFile} ---\n${logTail(spec.logFile)}`, { cause: err });
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running || child.pid === undefined) return;
    signal(child.pid, this.#spec.stopSignal);
    let timer: NodeJS.Timeout | undefined;
    const graceful = await Promise.race([
      keepAlive(this.#exit!).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.#spec.stopTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!graceful) await this.kill();
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.pid === undefined) return;
    const family = this.running ? killTreeSync(child.pid) : [];
    await keepAlive(this.#exit!);
    await waitFor(() => !family.some(isAlive), { timeoutMs: 10_000, what: `the processes of ${this.name} to exit after SIGKILL` });
  }

  /** For the process exit hook: no waiting possible there. */
  killSync(): void {
    if (this.running && this.#child?.pid !== undefined) killTreeSync(this.#child.pid);
  }
}

/** The children are unref'd (see start), so waiting on one's exit must hold the event loop open itself. */
function keepAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 60_000);
  return promise.finally(() => clearInterval(timer));
}

function describeExit(e: Exit): string {
  if (e.error) return e.error.message;
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}

/**
 * Starts a server that runs on its own, outside the stack (memcached, varnishd), tracked like the
 * stack's servers: the exit hook and the watchdog kill it if its owner dies first. If it cannot
 * start, its directory goes too. The returned release() is for after its graceful stop: it
 * untracks it and removes its directory.
 */
export async function startStandalone(server: ManagedServer, dir: string): Promise<() => void> {
  const teardown: Teardown = {
    keep: false,
    stop: () => server.stop(),
    killSync: () => server.killSync(),
    leftovers: () => ({ pids: server.pid === undefined ? [] : [server.pid], dirs: [dir] }),
  };
  track(teardown, false);
  const release = () => {
    untrack(teardown);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.start();
  } catch (err) {
    release();
    throw err;
  }
  return release;
}
