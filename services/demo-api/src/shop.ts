/** The shop's SQL: every statement is parameterized; only this module talks to Postgres. */
import pg from 'pg';
import type { ProductPatch } from './input.js';

export interface Category {
  id: number;
  name: string;
}

export interface Product {
  id: number;
  name: string;
  description: string;
  /** numeric(10,2) as text, so no amount is ever rounded through a float. */
  price: string;
  category_id: number;
}

/** A write the database refused because of the input (unknown category, failed CHECK): a 400. */
export class InvalidWriteError extends Error {}

/** The largest price products.price (numeric(10,2)) holds. */
const MAX_PRICE = 99_999_999.99;
const PRODUCT_COLUMNS = 'id, name, description, price::text AS price, category_id';

export interface Shop {
  getProduct(id: number): Promise<Product | null>;
  getCategory(id: number): Promise<Category | null>;
  listCategories(): Promise<Category[]>;
  /** null when the category does not exist (an empty list means it has no products). */
  listCategoryProducts(categoryId: number): Promise<Product[] | null>;
  updateProduct(id: number, patch: ProductPatch): Promise<Product | null>;
  /** "Another app": changes a price over its own connection, bypassing the API and its cache. */
  changePriceDirectly(id: number, delta: string): Promise<{ product: Product; sql: string } | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createShop(databaseUrl: string): Shop {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 5, application_name: 'evictd-demo-api' });
  // An idle client losing its server is reported here; the next query gets a fresh one.
  pool.on('error', () => undefined);

  async function one<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T | null> {
    const { rows } = await pool.query<T>(sql, params);
    return rows[0] ?? null;
  }

  return {
    getProduct: (id) => one<Product>(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE id = $1`, [id]),
    getCategory: (id) => one<Category>('SELECT id, name FROM categories WHERE id = $1', [id]),
    listCategories: async () => (await pool.query<Category>('SELECT id, name FROM categories ORDER BY id')).rows,
    async listCategoryProducts(categoryId) {
      const { rows } = await pool.query<Product & { found: boolean }>(
        `SELECT c.id IS NOT NULL AS found, p.id, p.name, p.description, p.price::text AS price, p.category_id
           FROM (SELECT $1::integer AS category_id) q
           LEFT JOIN categories c ON c.id = q.category_id
           LEFT JOIN products p ON p.category_id = c.id
          ORDER BY p.id`,
        [categoryId],
      );
      if (!rows[0]?.found) return null;
      return rows.filter((r) => r.id !== null).map(({ found: _found, ...product }) => product);
    },
    async updateProduct(id, patch) {
      // Column names come from the fixed list below, never from the request; values are parameters.
      const fields = (['name', 'description', 'price', 'category_id'] as const).filter((f) => patch[f] !== undefined);
      const sets = fields.map((f, i) => `${f} = $${i + 2}`).join(', ');
      try {
        return await one<Product>(`UPDATE products SET ${sets} WHERE id = $1 RETURNING ${PRODUCT_COLUMNS}`, [id, ...fields.map((f) => patch[f])]);
      } catch (err) {
        throw asInvalidWrite(err, patch);
      }
    },
    async changePriceDirectly(id, delta) {
      const client = new pg.Client({ connectionString: databaseUrl, application_name: 'another-app' });
      await client.connect();
      try {
        const current = await client.query<{ price: string }>('SELECT price::text AS price FROM products WHERE id = $1', [id]);
        if (!current.rows[0]) return null;
        // Keep prices within 1.00 .. MAX_PRICE (numeric(10,2)): a change that would leave the range goes the other way.
        const next = Number(current.rows[0].price) + Number(delta);
        const step = next < 1 ? delta.replace(/^-/, '') : next > MAX_PRICE ? `-${delta.replace(/^-/, '')}` : delta;
        const sql = 'UPDATE products SET price = price + $2 WHERE id = $1';
        const { rows } = await client.query<Product>(`${sql} RETURNING ${PRODUCT_COLUMNS}`, [id, step]).catch((err: unknown) => {
          throw asInvalidWrite(err, {});
        });
        const product = rows[0];
        // For display: the statement with its parameters written in.
        const shown = sql.replace('$1', String(id)).replace('+ $2', step.startsWith('-') ? `- ${step.slice(1)}` : `+ ${step}`);
        return product ? { product, sql: shown } : null;
      } finally {
        await client.end();
      }
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

function asInvalidWrite(err: unknown, patch: ProductPatch): unknown {
  const code = (err as { code?: string }).code;
  if (code === '23503') return new InvalidWriteError(`category_id ${patch.category_id} does not exist: use the id of an existing category`);
  // 23514 check, 22003 numeric out of range, 22021/22P05 text Postgres cannot store: the input's fault.
  if (code === '23514' || code === '22003' || code === '22021' || code === '22P05') return new InvalidWriteError(`the database refused the values: ${(err as Error).message}`);
  return err;
}
