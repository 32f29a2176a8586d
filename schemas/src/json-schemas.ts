import { readFileSync } from 'node:fs';

/**
 * The JSON Schemas live as plain .json files at the package root, so editors and other languages
 * can use them directly. They are read from disk relative to this module, which works the same
 * from src/ (tsx) and from dist/ (compiled).
 */
export function readJsonSchema(fileName: 'config.schema.json' | 'change-event.schema.json'): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../${fileName}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}
