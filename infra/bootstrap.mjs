// The first step of `npm test`, `npm run demo` and `npm run setup`, in plain JavaScript because it
// runs before node_modules exists: checks the Node.js version and, on a fresh clone, runs `npm ci`.
// Everything else a fresh machine needs (system packages, the Kafka jars) is infra/src/setup.ts,
// which needs node_modules.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const say = (message) => process.stderr.write(`setup: ${message}\n`);
const root = fileURLToPath(new URL('..', import.meta.url));

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  say(`evictd needs Node.js 20.6 or newer (this is ${process.version}): install a current Node.js (https://nodejs.org/en/download)`);
  process.exit(1);
}

// tsx runs every script here; without it nothing else can start.
if (!existsSync(join(root, 'node_modules', 'tsx', 'package.json'))) {
  say('node_modules is missing (a fresh clone?): running npm ci, once (about a minute)...');
  // Under `npm run`, npm_execpath is the npm that runs us: use that one.
  const npm = process.env.npm_execpath;
  const [command, args] = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
  const result = spawnSync(command, [...args, 'ci', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] });
  if (result.status !== 0) {
    say(`npm ci failed (${result.error?.message ?? `exit code ${result.status}`}): fix what it printed above, then run npm ci in ${root}`);
    process.exit(1);
  }
}
