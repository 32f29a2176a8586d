import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commands, invalidKeyReason, isErrorReply, parseAddress, parseReplies, type Pending, type Reply } from './client.js';

function pendings(kinds: ('line' | 'get')[]): { pending: Pending[]; replies: Reply[]; errors: Error[] } {
  const replies: Reply[] = [];
  const errors: Error[] = [];
  const pending = kinds.map((kind): Pending => ({ retrieval: kind === 'get', resolve: (r) => replies.push(r), reject: (e) => errors.push(e) }));
  return { pending, replies, errors };
}

test('line replies resolve in order, also when a reply is split across chunks', () => {
  const { pending, replies } = pendings(['line', 'line', 'line']);
  const first = Buffer.from('DELETED\r\nNOT_FO');
  const used = parseReplies(first, pending);
  assert.equal(used, 9);
  assert.deepEqual(replies, ['DELETED']);
  const rest = Buffer.concat([first.subarray(used), Buffer.from('UND\r\nSERVER_ERROR out of memory storing object\r\n')]);
  assert.equal(parseReplies(rest, pending), rest.length);
  assert.deepEqual(replies, ['DELETED', 'NOT_FOUND', 'SERVER_ERROR out of memory storing object']);
  assert.equal(pending.length, 0);
});

test('a get collects VALUE blocks (data may hold \\r\\n) until END, and waits for a partial block', () => {
  const { pending, replies } = pendings(['get', 'line']);
  const whole = Buffer.from('VALUE a 0 4\r\nx\r\ny\r\nVALUE b 5 0\r\n\r\nEND\r\nSTORED\r\n');
  assert.equal(parseReplies(whole.subarray(0, 16), pending), 0, 'the first block is incomplete: nothing consumed');
  assert.equal(replies.length, 0);
  assert.equal(parseReplies(whole, pending), whole.length);
  const values = replies[0] as Map<string, Buffer>;
  assert.deepEqual([...values].map(([k, v]) => [k, v.toString()]), [['a', 'x\r\ny'], ['b', '']]);
  assert.equal(replies[1], 'STORED');
});

test('a get of nothing is an empty map; an error line ends a get too', () => {
  const { pending, replies } = pendings(['get', 'get']);
  parseReplies(Buffer.from('END\r\nCLIENT_ERROR bad command line format\r\n'), pending);
  assert.equal((replies[0] as Map<string, Buffer>).size, 0);
  assert.equal(replies[1], 'CLIENT_ERROR bad command line format');
  assert.ok(isErrorReply(replies[1]!) && !isErrorReply('DELETED') && isErrorReply('ERROR'));
});

test('bytes that answer no command, or a get answered with garbage, put the stream out of step: an error', () => {
  assert.throws(() => parseReplies(Buffer.from('DELETED\r\n'), []), /reply without a command/);
  assert.throws(() => parseReplies(Buffer.from('STORED\r\n'), pendings(['get']).pending), /unexpected reply to get/);
});

test('keys memcached cannot store are recognised', () => {
  assert.equal(invalidKeyReason('product:1'), null);
  assert.equal(invalidKeyReason('produit:é'), null);
  assert.match(invalidKeyReason('a b') ?? '', /space/);
  assert.match(invalidKeyReason('a\r\nflush_all') ?? '', /control/);
  assert.match(invalidKeyReason('k'.repeat(251)) ?? '', /250 bytes/);
  assert.equal(invalidKeyReason('k'.repeat(250)), null);
  assert.match(invalidKeyReason('é'.repeat(126)) ?? '', /250 bytes/, 'bytes, not characters');
  assert.match(invalidKeyReason('') ?? '', /empty/);
});

test('commands are what protocol.txt says; addresses parse or fail by name', () => {
  assert.deepEqual(commands.set('tagv:a', 'v1'), { line: 'set tagv:a 0 0 2', data: 'v1' });
  assert.equal(commands.set('k', 'é').line, 'set k 0 0 2', 'the length is in bytes');
  assert.equal(commands.delete('k').line, 'delete k');
  assert.deepEqual(parseAddress('127.0.0.1:11211'), { host: '127.0.0.1', port: 11211 });
  assert.deepEqual(parseAddress('[::1]:11211'), { host: '::1', port: 11211 });
  assert.throws(() => parseAddress('cache:0'), /"cache:0" is not host:port/);
  assert.throws(() => parseAddress('cache'), /not host:port/);
});
