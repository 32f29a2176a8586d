import pg from 'pg';
import { postgresClientConfig, type EvictdConfig } from '../config/index.js';
import { EvictdError, fromPgError } from '../errors.js';
import { checkAgainstCatalog, readCatalog } from './catalog.js';
import { compileRules, type Problem } from './compile.js';

/**
 * `evictd check-config`: compiles the rules and checks them against the live catalog. Returns
 * every problem (empty: fine); a database that cannot be reached is an error, not a problem list.
 */
export async function checkConfigAgainstDatabase(config: EvictdConfig): Promise<Problem[]> {
  let rules;
  try {
    rules = compileRules(config.tables, config.file);
  } catch (err) {
    if (err instanceof EvictdError && err.code === 'CONFIG_RULES_INVALID') return err.context.problems as Problem[];
    throw err;
  }
  const client = new pg.Client({ ...postgresClientConfig(config.postgres), connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const catalog = await readCatalog(client, [...rules.tables.keys()]);
    return checkAgainstCatalog(rules, catalog);
  } catch (err) {
    throw fromPgError(err, 'check-config: reading the table catalog');
  } finally {
    await client.end().catch(() => undefined);
  }
}
