import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postgresClientConfig, urlSslParameters } from './postgres.js';

const base = { slot: 's', publication: 'p', createPublication: true, tables: [] };

test('postgresClientConfig passes TLS files as an ssl object', () => {
  const config = postgresClientConfig({ ...base, url: 'postgres://u@h/db', ssl: { ca: 'CA', rejectUnauthorized: true } });
  assert.deepEqual(config, { connectionString: 'postgres://u@h/db', ssl: { ca: 'CA', cert: undefined, key: undefined, rejectUnauthorized: true } });
  assert.deepEqual(postgresClientConfig({ ...base, url: 'postgres://u@h/db' }), { connectionString: 'postgres://u@h/db' });
});

test('urlSslParameters finds the ssl parameters of a URL', () => {
  assert.deepEqual(urlSslParameters('postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x'), ['sslmode', 'sslrootcert']);
  assert.deepEqual(urlSslParameters('postgres://u@h/db'), []);
  assert.deepEqual(urlSslParameters('not a url'), []);
});
