/**
 * One error type for evictd. Every error carries a stable `code`, whether retrying can help
 * (`retriable`), structured `context` for logs, and the underlying `cause`. Messages say what was
 * found, what was expected and what to do.
 */
export class EvictdError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { retriable?: boolean; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EvictdError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = Object.freeze({ ...options.context });
  }
}

/** Only errors that say so are retried; unknown errors are not (they are bugs or bad input). */
export function isRetriable(err: unknown): boolean {
  return err instanceof EvictdError && err.retriable;
}

/** Network-level failures from sockets and drivers: the peer may come back. */
const RETRIABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && RETRIABLE_NODE_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connection is closed|Connection is closed|socket hang up/i.test(message);
}

/**
 * Classifies a PostgreSQL error by SQLSTATE class. `what` says what evictd was doing, so the
 * message reads "creating replication slot evictd: permission denied ...".
 */
export function fromPgError(err: unknown, what: string): EvictdError {
  if (err instanceof EvictdError) return err;
  const sqlstate = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  const context = { sqlstate, what };
  if (typeof sqlstate === 'string' && /^[0-9A-Z]{5}$/.test(sqlstate)) {
    const cls = sqlstate.slice(0, 2);
    if (cls === '28') {
      return new EvictdError('PG_AUTH', `${what}: authentication failed (${detail}). Check the user and password in postgres.url / DATABASE_URL and pg_hba.conf.`, { context, cause: err });
    }
    if (sqlstate === '42501') {
      return new EvictdError('PG_PERMISSION', `${what}: permission denied (${detail}). The role needs the REPLICATION attribute and SELECT on the published tables (see the operator's guide).`, { context, cause: err });
    }
    // 08: connection exception, 57P: operator intervention (shutdown, restart), 53: insufficient resources,
    // 55006: object in use (slot active in another session, e.g. our previous process not yet gone).
    if (cls === '08' || sqlstate.startsWith('57P') || cls === '53' || sqlstate === '55006') {
      return new EvictdError('PG_UNAVAILABLE', `${what}: ${detail}`, { retriable: true, context, cause: err });
    }
    return new EvictdError('PG_ERROR', `${what}: ${detail}`, { context, cause: err });
  }
  if (isNetworkError(err)) {
    return new EvictdError('PG_UNAVAILABLE', `${what}: cannot reach PostgreSQL (${detail})`, { retriable: true, context, cause: err });
  }
  return new EvictdError('PG_ERROR', `${what}: ${detail}`, { context, cause: err });
}

/** A short, log-friendly description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
