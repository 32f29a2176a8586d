import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEEDS, planInstall } from './setup.js';

const missing = [NEEDS.postgres, NEEDS.java, NEEDS.chromium];

test('planInstall: apt as root on Debian/Ubuntu, otherwise the one command to run', () => {
  assert.deepEqual(planInstall([], { root: false, apt: false, brew: false }), { kind: 'none' });
  assert.deepEqual(planInstall(missing, { root: true, apt: true, brew: false }), { kind: 'apt', needs: missing });
  assert.deepEqual(planInstall(missing, { root: false, apt: true, brew: false }), {
    kind: 'print',
    command: 'sudo apt-get update && sudo apt-get install -y --no-install-recommends postgresql-15 openjdk-17-jre-headless chromium',
  });
  assert.deepEqual(planInstall(missing, { root: false, apt: false, brew: true }), {
    kind: 'print',
    command: 'brew install postgresql@15 openjdk@17 (and install Chromium (the demo page test) yourself)',
  });
  assert.deepEqual(planInstall([NEEDS.redis], { root: true, apt: false, brew: false }), { kind: 'print', command: "install redis-server with your system's package manager" });
});
