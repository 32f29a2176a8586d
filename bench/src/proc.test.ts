import { test } from 'node:test';
import assert from 'node:assert/strict';
import { descendantPids } from '@evictd/infra';
import { parseStatCpuTicks, parseStatusRssBytes, sampleProcess, watchProcessTree } from './proc.js';

test('utime + stime are read after the command name, even one with spaces and parentheses', () => {
  const stat = '4242 (node (evictd) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 1000 1 1 18446744073709551615';
  assert.equal(parseStatCpuTicks(stat), 325);
  assert.throws(() => parseStatCpuTicks('1 (x) S'), /utime\/stime/);
});

test('VmRSS is converted from kB to bytes', () => {
  assert.equal(parseStatusRssBytes('Name:\tnode\nVmPeak:\t 9 kB\nVmRSS:\t   51200 kB\nThreads: 11\n'), 51200 * 1024);
  assert.throws(() => parseStatusRssBytes('Name:\tzombie\n'), /VmRSS/);
});

test('this very process can be sampled; a pid that does not exist cannot', () => {
  const s = sampleProcess(process.pid);
  assert.ok(s && s.rssBytes > 1_000_000 && s.cpuTicks >= 0);
  assert.equal(sampleProcess(2 ** 30), undefined);
});

test('a process tree counts the CPU of the processes under the root', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
  try {
    assert.ok(child.pid !== undefined && descendantPids(process.pid).includes(child.pid), 'the child is found under this process');
    const watch = watchProcessTree(process.pid, 50);
    // Until the child has burnt 20 ticks (fewer than 10 of them before the watch began: Node starts in less).
    for (let s = sampleProcess(child.pid); (s?.cpuTicks ?? 0) < 20; s = sampleProcess(child.pid)) await new Promise((r) => setTimeout(r, 20));
    const usage = watch.stop();
    assert.ok(usage.cpuSeconds >= 0.1, `the child's CPU counts: ${usage.cpuSeconds} s`);
  } finally {
    child.kill('SIGKILL');
  }
});
