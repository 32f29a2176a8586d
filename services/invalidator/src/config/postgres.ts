import type { ClientConfig } from 'pg';
import type { EvictdConfig } from './types.js';

/**
 * The one place that turns the config into node-postgres connection settings, for the replication
 * stream, the start-up checks and check-config alike. TLS files from `postgres.ssl` are passed as
 * an ssl object; the loader has already refused a URL that also carries ssl parameters, which
 * node-postgres would silently let win over them.
 */
export function postgresClientConfig(postgres: EvictdConfig['postgres']): ClientConfig {
  const { url, ssl } = postgres;
  if (!ssl) return { connectionString: url };
  return { connectionString: url, ssl: { ca: ssl.ca, cert: ssl.cert, key: ssl.key, rejectUnauthorized: ssl.rejectUnauthorized } };
}

const URL_SSL_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl'];

/** The ssl parameters a postgres URL carries (empty for an unparseable URL: pg reports that itself). */
export function urlSslParameters(url: string): string[] {
  try {
    const params = new URL(url).searchParams;
    return URL_SSL_PARAMETERS.filter((name) => params.has(name));
  } catch {
    return [];
  }
}
