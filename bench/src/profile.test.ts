import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortLocation, topFrames, type CpuProfile } from './profile.js';

const node = (id: number, functionName: string, url = '', lineNumber = 0) => ({ id, callFrame: { functionName, url, lineNumber } });

test('self time is summed per function, idle left out of the percentages', () => {
  const profile: CpuProfile = {
    nodes: [
      node(1, '(root)'),
      node(2, '(idle)'),
      node(3, 'parse', 'file:///x/node_modules/kafkajs/src/protocol/decoder.js', 9),
      node(4, 'parse', 'file:///x/node_modules/kafkajs/src/protocol/decoder.js', 9),
      node(5, '', 'file:///work/main/services/invalidator/src/cdc/decode.ts', 0),
    ],
    samples: [2, 3, 4, 5, 2, 3],
    timeDeltas: [1000, 100, 200, 100, 5000, 200],
  };
  assert.deepEqual(topFrames(profile), [
    { functionName: 'parse', location: 'kafkajs/src/protocol/decoder.js:10', selfPercent: 500 / 6 },
    { functionName: '(anonymous)', location: 'services/invalidator/src/cdc/decode.ts:1', selfPercent: 100 / 6 },
  ]);
  assert.equal(topFrames(profile, 1).length, 1);
});

test('an idle profile has no top frames; a sample of an unknown node is an error', () => {
  assert.deepEqual(topFrames({ nodes: [node(1, '(idle)')], samples: [1], timeDeltas: [10] }), []);
  assert.throws(() => topFrames({ nodes: [], samples: [7], timeDeltas: [1] }), /node 7/);
});

test('shortLocation names native frames', () => {
  assert.equal(shortLocation('', 0), '(native)');
  assert.equal(shortLocation('node:internal/streams/readable', 4), 'node:internal/streams/readable:5');
});
