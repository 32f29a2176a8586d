import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const TEARDOWN = fileURLToPath(new URL('./teardown.ts', import.meta.url));

/** Whether a process with this pid still exists (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A harness that guards a long-running child (`sleep 300`), prints the child's pid, then ends as
 * `end` says without stopping the child. Resolves with the child's pid once the harness is gone.
 */
async function harnessThatEnds(end: string): Promise<number> {
  const script = `
    import { spawn } from 'node:child_process';
    const { guardChild } = await import(${JSON.stringify(TEARDOWN)});
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    guardChild(child);
    process.stdout.write(child.pid + '\\n', () => { ${end} });`;
  const harness = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  harness.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => harness.once('exit', resolve));
  const pid = Number(out.trim());
  assert.ok(Number.isInteger(pid) && pid > 0, `the harness printed its child's pid, got ${JSON.stringify(out)}`);
  return pid;
}

for (const [how, end] of [
  ['exits (process.exit, as --test-force-exit does)', 'process.exit(0)'],
  ['is killed with SIGKILL (no handler runs)', "process.kill(process.pid, 'SIGKILL')"],
] as const) {
  test(`a guarded child does not outlive a harness that ${how}`, async (t) => {
    const pid = await harnessThatEnds(end);
    t.after(() => {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    await waitFor(() => !alive(pid), { timeoutMs: 20_000, what: `the guarded child (pid ${pid}) gone after its harness` });
  });
}
