// `npm run demo`'s launcher (services/demo-api/src/launch-demo.ts) as a person runs it: it says what
// it does while it waits, prints the URL with the time it took, serves the page, and Ctrl-C stops
// everything it started with exit code 0. Here on the test stack's servers (DATABASE_URL etc.),
// with a database, Redis db and names of its own.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/index.js';
import { REPO_ROOT, spawnNode, type CapturedProcess } from '../support/process.js';
import { demoEnvironment, type DemoEnvironment } from './demo-helpers.js';

let isolated: DemoEnvironment | undefined;
let launcher: CapturedProcess | undefined;

after(async () => {
  if (launcher && !launcher.gone()) launcher.child.kill('SIGKILL');
  await launcher?.exited;
  await isolated?.cleanup();
});

test('npm run demo reports its progress, prints the URL with the time it took, and Ctrl-C exits 0', async () => {
  isolated = await demoEnvironment('demo_launch', 13);
  launcher = spawnNode(['--conditions=development', '--import', 'tsx', 'services/demo-api/src/launch-demo.ts'], { cwd: REPO_ROOT, env: { ...process.env, ...isolated.env } });
  const proc = launcher;
  const url = await waitFor(() => {
    if (proc.gone()) throw new Error(`the launcher exited:\n${proc.output()}`);
    return /^Open (http:\/\/\S+)\/ {3}\(ready after \d+ s\)$/m.exec(proc.output())?.[1];
  }, { timeoutMs: 240_000, what: 'the demo URL', stopOnError: true });
  const output = proc.output();
  for (const step of ['using the servers in DATABASE_URL', 'applying infra/sql/demo-*.sql', 'demo schema and seed applied', 'evictd run is healthy']) {
    assert.ok(output.includes(`demo: ${step}`), `no "${step}" line in:\n${output}`);
  }
  assert.equal((await fetch(`${url}/`)).status, 200);
  assert.equal((await fetch(`${url}/products/1`)).status, 200);

  proc.child.kill('SIGINT');
  assert.equal(await proc.exited, 0, proc.output());
  assert.match(proc.output(), /demo: stopping everything/);
});
