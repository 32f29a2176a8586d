#!/usr/bin/env node
// The `evictd` command npm installs (`npx evictd`, `npm i -g`). In a checkout it runs the
// TypeScript sources through tsx, so it is always the code you see; from a package made by
// `npm pack` (which has no sources) it runs the self-contained bundle that `npm pack` built into
// services/invalidator/bundle (infra/src/bundle-cli.ts).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const bundle = new URL('../bundle/dist/evictd.mjs', import.meta.url);

if (existsSync(sources)) {
  let tsx;
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    process.stderr.write(`evictd: running from the sources (${sources}) needs the dev dependencies: run npm ci in the repository\n`);
    process.exit(1);
  }
  const child = spawn(process.execPath, ['--conditions=development', '--import', tsx, sources, ...process.argv.slice(2)], { stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
  child.on('exit', (code, signal) => {
    if (signal) {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
} else if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  process.stderr.write(`evictd: found neither the sources (${sources}) nor the bundle (${fileURLToPath(bundle)}); reinstall the package (npm pack builds the bundle)\n`);
  process.exit(1);
}
