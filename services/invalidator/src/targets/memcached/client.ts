/**
 * A minimal memcached text-protocol client over node:net, for the Memcached target: one
 * connection per server, requests pipelined (many commands in one write, their replies read back
 * in order), every command answered (never `noreply`: an offset is committed only after every
 * deletion was confirmed). Written here rather than taken from npm because the target needs only
 * delete / set / flush_all / version with exact per-command replies and timeouts, which the
 * maintained clients either hide (`noreply`, silent retries, consistent hashing we must not do)
 * or do not pipeline.
 *
 * Protocol (memcached doc/protocol.txt): a command is one line ending in \r\n (`set` adds a data
 * block); storage/deletion/flush replies are one line (`DELETED`, `NOT_FOUND`, `STORED`, `OK`,
 * `ERROR`, `CLIENT_ERROR <msg>`, `SERVER_ERROR <msg>`); `get` replies with `VALUE <key> <flags>
 * <bytes>\r\n<data>\r\n` per hit, then `END\r\n`.
 */
import { connect, type Socket } from 'node:net';
import { EvictdError, describeError } from '../../errors.js';

/** Longest key memcached accepts (bytes). */
export const MAX_KEY_BYTES = 250;

/**
 * Why memcached would refuse `key`, or null. Such a key cannot be stored in memcached either, so
 * no cached value can exist under it: the target skips it (and says so) instead of failing.
 */
export function invalidKeyReason(key: string): string | null {
  if (key.length === 0) return 'empty';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  // Control characters (including \r \n) and spaces end the key on the command line.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(key)) return 'contains a space or control character';
  return null;
}

export type Command = { readonly line: string; readonly data?: Buffer | string; readonly retrieval?: false } | { readonly line: string; readonly retrieval: true };

export const commands = {
  delete: (key: string): Command => ({ line: `delete ${key}` }),
  set: (key: string, value: Buffer | string, ttlSeconds = 0, flags = 0): Command => ({ line: `set ${key} ${flags} ${ttlSeconds} ${Buffer.byteLength(value)}`, data: value }),
  get: (...keys: string[]): Command => ({ line: `get ${keys.join(' ')}`, retrieval: true }),
  flushAll: (): Command => ({ line: 'flush_all' }),
  version: (): Command => ({ line: 'version' }),
};

/** A line reply (`DELETED`, `SERVER_ERROR out of memory`...) or the hits of a `get`. */
export type Reply = string | Map<string, Buffer>;

export interface Pending {
  readonly retrieval: boolean;
  values?: Map<string, Buffer>;
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

/** A reply line that is an error, whatever the command. */
export function isErrorReply(reply: Reply): boolean {
  return typeof reply === 'string' && (reply === 'ERROR' || reply.startsWith('CLIENT_ERROR') || reply.startsWith('SERVER_ERROR'));
}

/** `host:port` or `[v6]:port`. */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) throw new EvictdError('CONFIG_MEMCACHED_SERVER', `memcached server "${address}" is not host:port`);
  return { host: match[1] ?? match[2] ?? '', port };
}

export function unavailable(address: string, detail: string, cause?: unknown): EvictdError {
  return new EvictdError('MEMCACHED_UNAVAILABLE', `memcached ${address}: ${detail}`, { retriable: true, context: { server: address }, cause });
}

/**
 * One connection to one server. Replies are matched to commands by order (memcached answers in
 * order), so any failure — a timeout, a reset, an unparsable reply — destroys the connection and
 * rejects everything pending on it: the caller retries on a fresh one.
 */
export class MemcachedConnection {
  readonly address: string;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  #socket: Socket | null = null;
  #connecting: Promise<Socket> | null = null;
  #pending: Pending[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #closed = false;
  /** Called once per lost connection (not for close()). */
  onLost: ((err: Error) => void) | undefined;

  constructor(address: string, timeoutMs: number) {
    this.address = address;
    ({ host: this.#host, port: this.#port } = parseAddress(address));
    this.#timeoutMs = timeoutMs;
  }

  get connected(): boolean {
    return this.#socket !== null;
  }

  /**
   * Sends `cmds` in one write and resolves with their replies, in order, once all arrived.
   * Rejects (retriable) when the server cannot be reached or does not answer all of them within
   * the timeout.
   */
  async request(cmds: readonly Command[]): Promise<Reply[]> {
    if (cmds.length === 0) return [];
    const socket = await this.#connect();
    const parts: (Buffer | string)[] = [];
    const replies = cmds.map((cmd) => {
      parts.push(`${cmd.line}\r\n`);
      if (!cmd.retrieval && cmd.data !== undefined) parts.push(cmd.data, '\r\n');
      return new Promise<Reply>((resolve, reject) => this.#pending.push({ retrieval: cmd.retrieval === true, resolve, reject }));
    });
    const timer = setTimeout(() => this.#fail(socket, unavailable(this.address, `no reply within ${this.#timeoutMs} ms (timeoutMs)`)), this.#timeoutMs);
    try {
      socket.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
      return await Promise.all(replies);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection; pending requests are rejected. */
  close(): void {
    this.#closed = true;
    if (this.#socket) this.#fail(this.#socket, unavailable(this.address, 'connection closed by evictd'));
  }

  #connect(): Promise<Socket> {
    if (this.#closed) return Promise.reject(unavailable(this.address, 'connection closed by evictd'));
    if (this.#socket) return Promise.resolve(this.#socket);
    this.#connecting ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.#host, port: this.#port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(unavailable(this.address, `cannot connect within ${this.#timeoutMs} ms (timeoutMs)`)), this.#timeoutMs);
      const failed = (err: Error) => {
        clearTimeout(timer);
        this.#connecting = null;
        reject(err instanceof EvictdError ? err : unavailable(this.address, `cannot connect (${describeError(err)})`, err));
      };
      socket.once('error', failed);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        this.#connecting = null;
        this.#socket = socket;
        this.#buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
        socket.on('error', (err) => this.#fail(socket, err instanceof EvictdError ? err : unavailable(this.address, describeError(err), err)));
        socket.on('close', () => this.#fail(socket, unavailable(this.address, 'connection closed by the server')));
        resolve(socket);
      });
    });
    return this.#connecting;
  }

  #fail(socket: Socket, err: Error): void {
    if (this.#socket !== socket) return; // an older connection, already handled
    this.#socket = null;
    socket.destroy();
    const pending = this.#pending;
    this.#pending = [];
    this.#buffer = Buffer.alloc(0);
    for (const p of pending) p.reject(err);
    if (!this.#closed) this.onLost?.(err);
  }

  #onData(socket: Socket, chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let consumed: number;
    try {
      consumed = parseReplies(this.#buffer, this.#pending);
    } catch (err) {
      this.#fail(socket, unavailable(this.address, describeError(err), err));
      return;
    }
    this.#buffer = this.#buffer.subarray(consumed);
  }
}

/**
 * Resolves as many of `pending` (in order, removing them) as `buffer` holds complete replies for
 * and returns the bytes consumed; a partial reply stays in the buffer for the next chunk. Throws
 * on bytes no memcached reply can start with (the stream is out of step: drop the connection).
 */
export function parseReplies(buffer: Buffer, pending: Pending[]): number {
  let pos = 0;
  while (pending.length > 0) {
    const head = pending[0]!;
    const end = buffer.indexOf('\r\n', pos);
    if (end < 0) break;
    const line = buffer.toString('utf8', pos, end);
    if (!head.retrieval || line === 'END' || isErrorReply(line)) {
      pending.shift();
      pos = end + 2;
      head.resolve(head.retrieval && line === 'END' ? (head.values ?? new Map()) : line);
      continue;
    }
    // VALUE <key> <flags> <bytes> [<cas>]
    const fields = line.split(' ');
    const bytes = Number(fields[3]);
    if (fields[0] !== 'VALUE' || fields.length < 4 || !Number.isInteger(bytes) || bytes < 0) throw new Error(`unexpected reply to get: ${JSON.stringify(line.slice(0, 100))}`);
    const dataStart = end + 2;
    if (buffer.length < dataStart + bytes + 2) break; // the data block is still coming
    (head.values ??= new Map()).set(fields[1]!, Buffer.from(buffer.subarray(dataStart, dataStart + bytes)));
    pos = dataStart + bytes + 2;
  }
  if (pending.length === 0 && pos < buffer.length) throw new Error(`reply without a command: ${JSON.stringify(buffer.toString('utf8', pos, Math.min(buffer.length, pos + 100)))}`);
  return pos;
}

