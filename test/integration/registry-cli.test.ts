// `evictd registry` prints the rules' key registry as JSON; @evictd/cache reads that JSON and the
// rules file itself alike, so an app that ships either fills under the shapes evictd flushes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeyRegistry } from '@evictd/cache';
import { DEMO_RULES_FILE } from '../../services/demo-api/src/index.js';
import { stackEnv } from '../support/index.js';
import { runCli, writeTempConfig } from '../support/process.js';

const env = stackEnv() as unknown as Record<string, string>;

test('the exported registry and the rules file give the same shapes', async () => {
  const { code, output } = await runCli(['registry', '--config', DEMO_RULES_FILE], env);
  assert.equal(code, 0, output);
  const doc = JSON.parse(output) as { evictdKeyRegistry: number; tables: Record<string, unknown> };
  assert.equal(doc.evictdKeyRegistry, 1);
  assert.deepEqual(Object.keys(doc.tables), ['public.products', 'public.categories']);
  assert.doesNotMatch(output, /postgres:|redis:\/\//, 'no connection settings (or secrets) in the export');

  const fromJson = await loadKeyRegistry(writeTempConfig(output, 'registry-'));
  const fromRules = await loadKeyRegistry(DEMO_RULES_FILE);
  assert.deepEqual([fromJson.keyShapes, fromJson.tagShapes], [fromRules.keyShapes, fromRules.tagShapes]);
  assert.deepEqual(fromRules.keyShapes, ['product:*', 'category:*']);
  assert.deepEqual(fromRules.shapesOf('category:3:products', ['category:3']), [
    { kind: 'key', shape: 'category:*' },
    { kind: 'tag', shape: 'category:*' },
  ]);
});

test('a bad template fails the export with exit 2, naming the file and path', async () => {
  const file = writeTempConfig('tables:\n  public.t:\n    keys: ["t:{id"]\n', 'registry-bad-');
  const { code, output } = await runCli(['registry', '--config', file], env);
  assert.equal(code, 2);
  assert.match(output, /tables\.public\.t\.keys\[0\]: unclosed "\{"/);
});

test('loadKeyRegistry names the file when it cannot be used', async () => {
  await assert.rejects(loadKeyRegistry('/nonexistent/evictd.yaml'), /cannot read the key registry \/nonexistent\/evictd\.yaml/);
  await assert.rejects(loadKeyRegistry(writeTempConfig('kafka: {}\n', 'registry-none-')), /has no "tables" section/);
  await assert.rejects(loadKeyRegistry(writeTempConfig('tables: [\n', 'registry-syntax-')), /cannot parse the key registry .*\(line \d+\)/);
});
