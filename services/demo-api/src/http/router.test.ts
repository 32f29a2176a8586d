import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError, matchRoute, type Route } from './router.js';

const route = (method: Route['method'], name: string, pattern: RegExp): Route => ({ method, name, pattern, handle: () => undefined });
const routes = [route('GET', '/products/:id', /^\/products\/([^/]*)$/), route('PUT', '/products/:id', /^\/products\/([^/]*)$/), route('GET', '/healthz', /^\/healthz$/)];

test('matchRoute picks the route by method and path and returns its captures', () => {
  const match = matchRoute(routes, 'PUT', '/products/42');
  assert.ok('route' in match);
  assert.equal(match.route.method, 'PUT');
  assert.deepEqual(match.params, ['42']);
});

test('matchRoute answers 404 for an unknown path and 405 with Allow for a known path', () => {
  const missing = matchRoute(routes, 'GET', '/nope');
  assert.ok('error' in missing && missing.error instanceof HttpError);
  assert.equal(missing.error.status, 404);

  const wrongMethod = matchRoute(routes, 'DELETE', '/products/1');
  assert.ok('error' in wrongMethod);
  assert.equal(wrongMethod.error.status, 405);
  assert.deepEqual(wrongMethod.error.headers, { allow: 'GET, HEAD, PUT' });
  assert.match(wrongMethod.error.message, /DELETE is not allowed on \/products\/1: use GET, HEAD, PUT/);
});

test('HEAD takes the GET route of a path (node:http sends no body for it), and only where GET exists', () => {
  const head = matchRoute(routes, 'HEAD', '/products/1');
  assert.ok('route' in head);
  assert.equal(head.route.method, 'GET');
  const postOnly = matchRoute([route('POST', '/p', /^\/p$/)], 'HEAD', '/p');
  assert.ok('error' in postOnly);
  assert.equal(postOnly.error.status, 405);
});
