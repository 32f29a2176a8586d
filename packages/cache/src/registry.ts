import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { createKeyRegistry, KeyRegistryError, type KeyRegistry } from '@evictd/schemas';

/**
 * The key registry from the invalidator's own rules file (YAML, its `tables` section) or from
 * the JSON `evictd registry --config FILE` prints: whichever the app can ship. Only `tables` is
 * read, so the connection settings in an evictd config never matter here.
 */
export async function loadKeyRegistry(file: string): Promise<KeyRegistry> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KeyRegistryError(`cannot read the key registry ${file}: ${(err as Error).message} (pass the evictd rules file, or the JSON of \`evictd registry\`)`);
  }
  let doc: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both forms.
    doc = parseYaml(text, { prettyErrors: false });
  } catch (err) {
    // Only the position: the yaml package's message quotes the source, which may hold secrets.
    const offset = (err as { pos?: [number, number] }).pos?.[0];
    const line = offset === undefined ? '' : ` (line ${text.slice(0, offset).split('\n').length})`;
    throw new KeyRegistryError(`cannot parse the key registry ${file}${line}: ${(err as Error).name}`);
  }
  const tables = (doc as { tables?: unknown } | null)?.tables;
  if (tables === undefined) throw new KeyRegistryError(`${file} has no "tables" section: pass the evictd rules file, or the JSON of \`evictd registry\``);
  return createKeyRegistry(tables as Parameters<typeof createKeyRegistry>[0], file);
}
