/**
 * The settings table of docs/operators-guide.md, generated from schemas/config.schema.json so the
 * guide cannot drift from what the config loader accepts. test/docker/guide.test.ts compares;
 * after changing the schema, rewrite the table with:
 *   node --import tsx test/docker/options-table.ts --write
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const GUIDE_FILE = resolve(ROOT, 'docs/operators-guide.md');
export const CONFIG_SCHEMA_FILE = resolve(ROOT, 'schemas/config.schema.json');
export const TABLE_BEGIN = '<!-- options table: generated from schemas/config.schema.json by test/docker/options-table.ts -->';
export const TABLE_END = '<!-- end of options table -->';

export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  required?: string[];
  minimum?: number;
  maximum?: number;
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
}

export function readConfigSchema(): JsonSchema {
  return JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8')) as JsonSchema;
}

/** Follows a local `#/definitions/x` reference. */
export function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/definitions/', '');
  const target = root.definitions?.[name];
  if (!target) throw new Error(`config schema: unresolved ${schema.$ref}`);
  return { ...target, ...schema, $ref: undefined, description: schema.description ?? target.description };
}

function typeOf(schema: JsonSchema, root: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' | ');
  if (schema.$ref) return schema.$ref === '#/definitions/tls' ? 'TLS files' : schema.$ref.replace('#/definitions/', '');
  if (schema.oneOf) return schema.oneOf.map((s) => typeOf(s, root)).join(' or ');
  if (schema.type === 'array') return `list of ${typeOf(schema.items ?? {}, root)}`;
  if (schema.type === 'object') return 'object';
  const range = schema.minimum !== undefined || schema.maximum !== undefined ? ` ${schema.minimum ?? ''}..${schema.maximum ?? ''}` : '';
  return `${String(schema.type ?? 'any')}${range}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\n/g, ' ');
}

/** One row per leaf setting: `section.name`, plus the fields of objects such as kafka.sasl. */
export function optionRows(root: JsonSchema = readConfigSchema()): { path: string; type: string; default: string; description: string }[] {
  const rows: { path: string; type: string; default: string; description: string }[] = [];
  const visit = (path: string, raw: JsonSchema, required: boolean) => {
    const schema = raw.$ref === '#/definitions/tls' ? raw : deref(raw, root);
    if (schema.type === 'object' && schema.properties && path.split('.').length > 1) {
      rows.push({ path, type: 'object', default: required ? 'required' : '', description: schema.description ?? '' });
      for (const [name, child] of Object.entries(schema.properties)) visit(`${path}.${name}`, child, schema.required?.includes(name) ?? false);
      return;
    }
    // postgres.url, kafka.brokers, redis.url: the loader requires them, from the file or the environment.
    const fromEnv = /Env ([A-Z_]+)/.exec(schema.description ?? '')?.[1];
    const fallback =
      schema.default !== undefined ? `\`${JSON.stringify(schema.default)}\`` : required ? 'required' : fromEnv ? `required (or env ${fromEnv})` : '';
    rows.push({ path, type: typeOf(schema, root), default: fallback, description: schema.description ?? '' });
  };
  for (const [section, body] of Object.entries(root.properties ?? {})) {
    if (section === 'tables') continue; // the rules have their own reference section
    for (const [name, child] of Object.entries(body.properties ?? {})) visit(`${section}.${name}`, child, body.required?.includes(name) ?? false);
  }
  const tls = root.definitions?.tls;
  for (const [name, child] of Object.entries(tls?.properties ?? {})) {
    visit(`<tls>.${name}`, child, false);
  }
  return rows;
}

export function optionsTable(root: JsonSchema = readConfigSchema()): string {
  const lines = ['| setting | type | default | what it does |', '| --- | --- | --- | --- |'];
  for (const row of optionRows(root)) lines.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`);
  return lines.join('\n');
}

/** The guide with its table section replaced by the generated one. */
export function withGeneratedTable(guide: string, table = optionsTable()): string {
  const begin = guide.indexOf(TABLE_BEGIN);
  const end = guide.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`${GUIDE_FILE}: the markers of the options table are missing`);
  return `${guide.slice(0, begin + TABLE_BEGIN.length)}\n${table}\n${guide.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(GUIDE_FILE, withGeneratedTable(readFileSync(GUIDE_FILE, 'utf8')));
  process.stdout.write(`rewrote the options table of ${GUIDE_FILE}\n`);
}
