import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyKeyspaceMessage, missingNotifyFlags } from './keyspace.js';

test('missingNotifyFlags adds only what the timeline needs to what is set', () => {
  assert.equal(missingNotifyFlags(''), 'Kg$');
  assert.equal(missingNotifyFlags('Ex'), 'Kg$');
  assert.equal(missingNotifyFlags('Kg'), '$');
  assert.equal(missingNotifyFlags('g$K'), '');
  assert.equal(missingNotifyFlags('AKE'), '');
  assert.equal(missingNotifyFlags('AE'), 'K');
});

test('classifyKeyspaceMessage tells deletions, writes and invalidation markers apart', () => {
  const ch = '__keyspace@3__:';
  const mk = 'demo:evictd:mk:';
  assert.deepEqual(classifyKeyspaceMessage(`${ch}product:3`, 'del', ch, mk, 5), { key: 'product:3', at: 5, kind: 'deleted' });
  assert.deepEqual(classifyKeyspaceMessage(`${ch}product:3`, 'set', ch, mk, 5), { key: 'product:3', at: 5, kind: 'written' });
  assert.deepEqual(classifyKeyspaceMessage(`${ch}${mk}product:3`, 'set', ch, mk, 5), { key: 'product:3', at: 5, kind: 'marker' });
  assert.equal(classifyKeyspaceMessage(`${ch}${mk}product:3`, 'expired', ch, mk, 5), null);
  assert.equal(classifyKeyspaceMessage(`${ch}product:3`, 'expire', ch, mk, 5), null);
  assert.equal(classifyKeyspaceMessage('__keyspace@0__:product:3', 'del', ch, mk, 5), null);
});
