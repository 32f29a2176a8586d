/**
 * The catalog's column types for decoding Debezium events that carry no schema, and the notices
 * about how each table's events were typed. The invalidator reads the catalog at start; if the
 * database was unreachable then, an untyped Debezium event makes it try again (at most every
 * `retryMs`), and meanwhile says loudly that keys may differ.
 */
import type { Catalog } from '../rules/catalog.js';
import type { ColumnType } from '../types/canonical.js';
import type { Logger } from '../observability/log.js';
import type { DecodedChange } from './decode-event.js';

const REPEAT_MS = 30_000;

export class ColumnTypes {
  private catalog: Catalog | null = null;
  private lastRead = 0;
  private reading: Promise<void> | null = null;
  private readonly seenDebezium = new Set<string>();
  private readonly loggedAt = new Map<string, number>();

  constructor(
    private readonly read: () => Promise<Catalog>,
    private readonly logger: Logger,
    private readonly retryMs = REPEAT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** What the start-up check read (null: the database was unreachable). */
  set(catalog: Catalog | null): void {
    this.catalog = catalog;
    this.lastRead = this.now();
  }

  /** For decodeEvent's `columnTypes`. */
  readonly lookup = (table: string): ReadonlyMap<string, ColumnType> | undefined => this.catalog?.get(table)?.columnTypes;

  /** Logs what a decoded event tells about its source and typing, each at most every 30 s per table/column. */
  note(event: DecodedChange): void {
    if (event.typing === 'evictd') return;
    const table = event.table;
    if (!this.seenDebezium.has(table)) {
      this.seenDebezium.add(table);
      this.logger.warn(
        { table },
        `${table}: these events come from Debezium: Debezium drops TRUNCATE unless its connector sets skipped.operations=none (the default, t, skips truncates), and a dropped TRUNCATE leaves ${table}'s cached keys stale`,
      );
    }
    if (event.typing === 'untyped') {
      this.once(`untyped:${table}`, () =>
        this.logger.warn(
          { table },
          `${table}: Debezium events without a schema, and the column types of ${table} are not known (the database was not reachable at start, or the table has no rule checked against it): values are used as Debezium sent them, so keys built from numeric, date, time, timestamp, interval or bytea columns can differ from the app's; ` +
            `evictd keeps trying to read the catalog (or set value.converter.schemas.enable=true and key.converter.schemas.enable=true on the connector)`,
        ),
      );
      this.refresh();
    }
    for (const d of event.dropped) {
      this.once(`dropped:${table}.${d.column}`, () =>
        this.logger.warn({ table, column: d.column }, `${table}.${d.column}: ${d.reason}; templates that use it invalidate everything they can produce instead`),
      );
    }
  }

  private once(what: string, log: () => void): void {
    const now = this.now();
    if (now - (this.loggedAt.get(what) ?? -Infinity) < REPEAT_MS) return;
    this.loggedAt.set(what, now);
    log();
  }

  private refresh(): void {
    if (this.reading || this.now() - this.lastRead < this.retryMs) return;
    this.lastRead = this.now();
    this.reading = this.read()
      .then((catalog) => {
        this.catalog = catalog;
        this.logger.info({ tables: catalog.size }, 'read the column types from the catalog: Debezium events without a schema are converted from now on');
      })
      .catch((err: unknown) => this.logger.warn({ err }, 'still cannot read the column types from the catalog; retrying later'))
      .finally(() => {
        this.reading = null;
      });
  }
}
