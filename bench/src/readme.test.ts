import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEGIN, END, updateReadme } from './readme.js';

test('only the text between the markers is replaced', () => {
  const before = `# x\n## Benchmarks\n${BEGIN}\nold\n${END}\n## Next\n`;
  assert.equal(updateReadme(before, '| new |\n'), `# x\n## Benchmarks\n${BEGIN}\n| new |\n${END}\n## Next\n`);
});

test('a README without markers is left alone', () => {
  assert.equal(updateReadme('# x\n', 'table'), '# x\n');
  assert.equal(updateReadme(`${END}\n${BEGIN}\n`, 'table'), `${END}\n${BEGIN}\n`);
});
