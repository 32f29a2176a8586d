import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeLookup, varnishPathOf, type Lookup, type LookupState } from './varnish-probe.js';

const HIT = (object: string): Lookup => ({ cache: 'HIT', xVarnish: `32${object}9 ${object}` });
const MISS: Lookup = { cache: 'MISS', xVarnish: '32771' };
const fresh: LookupState = { objectId: null, hits: 0 };

test('varnishPathOf: the page each cached key is served at; other keys have none', () => {
  assert.equal(varnishPathOf('product:6'), '/products/6');
  assert.equal(varnishPathOf('category:2'), '/categories/2');
  for (const key of ['category:2:products', 'product:', 'product:6x', 'order:1', null]) assert.equal(varnishPathOf(key), null, String(key));
});

test('judgeLookup: stale HITs of one object, then the MISS of the purge', () => {
  let state = fresh;
  for (const hits of [1, 2]) {
    const verdict = judgeLookup('/products/6', state, HIT('5'));
    assert.ok(!verdict.purged);
    assert.deepEqual(verdict.state, { objectId: '5', hits });
    state = verdict.state;
  }
  assert.deepEqual(judgeLookup('/products/6', state, MISS), { purged: true, detail: 'purged /products/6 (MISS after 2 stale HITs)' });
});

test('judgeLookup: a MISS at once says the page was not cached; another object than the first HIT means purged and fetched again', () => {
  assert.deepEqual(judgeLookup('/products/6', fresh, MISS), { purged: true, detail: '/products/6 not in Varnish at the first lookup' });
  const first = judgeLookup('/products/6', fresh, HIT('5'));
  assert.ok(!first.purged);
  assert.deepEqual(judgeLookup('/products/6', first.state, HIT('77')), { purged: true, detail: 'purged /products/6 (after 1 stale HIT, already fetched again)' });
});

test('judgeLookup: an answer without the VCL\'s header is a problem to report, not a verdict', () => {
  const verdict = judgeLookup('/products/6', fresh, { cache: null, xVarnish: null });
  assert.deepEqual(verdict, { purged: false, state: fresh, problem: 'x-varnish-cache: missing' });
});
