import pg from 'pg';
import { postgresClientConfig, type EvictdConfig } from '../config/index.js';
import { EvictdError, fromPgError } from '../errors.js';
import { changeTopic } from '../bus/topics.js';
import { checkAgainstCatalog, readCatalog, typeWarnings, type Catalog } from './catalog.js';
import { compileRules, shapeWarnings, type Problem } from './compile.js';

export interface RulesInspection {
  readonly problems: Problem[];
  /** What works but deserves a look (whole-cache shapes, types/Debezium settings); printed, never fatal. */
  readonly warnings: Problem[];
  /** The catalog of the rules' tables (empty when the rules did not compile). */
  readonly catalog: Catalog;
}

/**
 * `evictd check-config` and the invalidator's start-up: compiles the rules and checks them against
 * the live catalog. Returns every problem (empty: fine), the warnings and the catalog it read (the
 * invalidator converts Debezium events with its column types); a database that cannot be reached
 * is an error, not a problem list.
 */
export async function inspectRulesAgainstDatabase(config: EvictdConfig): Promise<RulesInspection> {
  let rules;
  try {
    rules = compileRules(config.tables, config.file);
  } catch (err) {
    if (err instanceof EvictdError && err.code === 'CONFIG_RULES_INVALID') return { problems: err.context.problems as Problem[], warnings: [], catalog: new Map() };
    throw err;
  }
  const client = new pg.Client({ ...postgresClientConfig(config.postgres), connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const catalog = await readCatalog(client, [...rules.tables.keys()]);
    // Topics other than evictd's own names for the rule tables: likely a Debezium pipeline's.
    const own = new Set([...rules.tables.values()].map((r) => changeTopic(config.kafka.topicPrefix, r.schema, r.name)));
    const debeziumTopics = config.invalidate.topics.some((t) => !own.has(t));
    return { problems: checkAgainstCatalog(rules, catalog), warnings: [...shapeWarnings(rules), ...typeWarnings(rules, catalog, { debeziumTopics })], catalog };
  } catch (err) {
    throw fromPgError(err, 'check-config: reading the table catalog');
  } finally {
    await client.end().catch(() => undefined);
  }
}
