/** Parsing of request input: pure functions that return a value or a reason for a 400. */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const MAX_ID = 2_147_483_647; // Postgres integer

/** A path id: decimal digits only, 1 .. 2^31-1 (no signs, spaces, exponents or leading zeros). */
export function parseId(raw: string, what: string): Parsed<number> {
  if (!/^[1-9]\d{0,9}$/.test(raw) || Number(raw) > MAX_ID) {
    return { ok: false, reason: `${what} id must be a positive integer up to ${MAX_ID}, got ${JSON.stringify(raw)}` };
  }
  return { ok: true, value: Number(raw) };
}

export interface ProductPatch {
  name?: string;
  description?: string;
  /** Decimal text with at most 2 decimals, as Postgres numeric(10,2) takes it exactly. */
  price?: string;
  category_id?: number;
}

/** Length in characters (code points), as Postgres length() counts them: not UTF-16 units. */
export function characters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const PATCH_FIELDS = ['name', 'description', 'price', 'category_id'] as const;
const PRICE = /^\d{1,8}(\.\d{1,2})?$/;

/** The body of PUT /products/:id: a JSON object with at least one known field, each valid. */
export function parseProductPatch(body: unknown): Parsed<ProductPatch> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, reason: `body must be a JSON object with any of ${PATCH_FIELDS.join(', ')}` };
  }
  const input = body as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(input).filter((k) => !(PATCH_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) problems.push(`unknown field(s) ${unknown.join(', ')}: allowed are ${PATCH_FIELDS.join(', ')}`);
  const patch: ProductPatch = {};

  const text = (field: 'name' | 'description', min: number, max: number) => {
    const v = input[field];
    if (v === undefined) return;
    if (typeof v !== 'string' || characters(v.trim()) < min || characters(v.trim()) > max) {
      problems.push(`${field} must be a string of ${min} to ${max} characters`);
    } else if (v.includes('\u0000')) {
      problems.push(`${field} must not contain the NUL character (\\u0000), which Postgres text cannot store`);
    } else {
      patch[field] = v.trim();
    }
  };
  text('name', 1, 100);
  text('description', 0, 500);

  if (input.price !== undefined) {
    const p = input.price;
    const asText = typeof p === 'number' && Number.isFinite(p) ? String(p) : p;
    if (typeof asText !== 'string' || !PRICE.test(asText)) {
      problems.push(`price must be a non-negative amount with at most 2 decimals below 100000000 (e.g. 12.50), got ${JSON.stringify(p)}`);
    } else {
      patch.price = asText;
    }
  }
  if (input.category_id !== undefined) {
    const c = input.category_id;
    if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 1 || c > MAX_ID) {
      problems.push(`category_id must be a positive integer, got ${JSON.stringify(c)}`);
    } else {
      patch.category_id = c;
    }
  }
  if (problems.length === 0 && Object.keys(patch).length === 0) {
    problems.push(`body must set at least one of ${PATCH_FIELDS.join(', ')}`);
  }
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, value: patch };
}
