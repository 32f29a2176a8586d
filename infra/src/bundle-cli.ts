/**
 * Builds the self-contained `evictd` that a packed tarball runs (`npm pack` runs this as the root
 * package's prepack): services/invalidator/src/cli.ts with every dependency, the workspace ones
 * included, in one ES module, next to the files it reads at run time (the JSON Schemas and the
 * Redis Lua scripts, found relative to the module as in schemas/). The result,
 * services/invalidator/bundle, is gitignored; the launcher services/invalidator/bin/evictd.js runs
 * it when there are no sources.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'services/invalidator/bundle');

// The esbuild that tsx (a dev dependency) runs on, rather than a second copy.
const requireFromTsx = createRequire(createRequire(import.meta.url).resolve('tsx'));
const esbuild = requireFromTsx('esbuild') as typeof import('esbuild');

export async function bundleCli(): Promise<string> {
  rmSync(OUT, { recursive: true, force: true });
  const outfile = join(OUT, 'dist/evictd.mjs');
  await esbuild.build({
    entryPoints: [join(ROOT, 'services/invalidator/src/cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // The workspace packages from their TypeScript sources, like --conditions=development.
    conditions: ['development'],
    // pg's optional native binding is loaded only when asked for.
    external: ['pg-native'],
    // CommonJS dependencies call require() for Node's built-ins.
    banner: { js: "import { createRequire as __evictdRequire } from 'node:module'; const require = __evictdRequire(import.meta.url);" },
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const schemas = join(ROOT, 'schemas');
  for (const file of readdirSync(schemas).filter((f) => f.endsWith('.schema.json'))) copyFileSync(join(schemas, file), join(OUT, file));
  mkdirSync(join(OUT, 'redis'));
  for (const file of readdirSync(join(schemas, 'redis')).filter((f) => f.endsWith('.lua'))) copyFileSync(join(schemas, 'redis', file), join(OUT, 'redis', file));
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outfile = await bundleCli();
  process.stderr.write(`bundled evictd into ${outfile}\n`);
}
