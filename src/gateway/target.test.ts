import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GirderError } from '../errors.ts';
import { decodeSegment, parseRoute } from './target.ts';

const D = 'girder.test';
const ID = 'abcd1234';

test('path-routed host forms name every target', () => {
  const host = `model-${ID}.${D}`;
  assert.deepEqual(parseRoute(host, '/production/predict', D), {
    surface: 'inference',
    kind: 'model',
    id: ID,
    target: { kind: 'production' },
    action: 'predict',
    rest: '',
  });
  assert.deepEqual(parseRoute(host, '/development/predict', D).surface, 'inference');
  assert.deepEqual((parseRoute(host, '/environments/staging/predict', D) as any).target, {
    kind: 'environment',
    name: 'staging',
  });
  assert.deepEqual((parseRoute(`${host}:8080`, '/deployment/q1w2e3r/wake', D) as any).target, {
    kind: 'deployment',
    id: 'q1w2e3r',
  });
});

test('the host form also works as the first path segment on a plain host', () => {
  const r = parseRoute('127.0.0.1:8080', `/model-${ID}/environments/staging/predict`, D) as any;
  assert.equal(r.id, ID);
  assert.deepEqual(r.target, { kind: 'environment', name: 'staging' });
  const regional = parseRoute('127.0.0.1:8080', `/model-${ID}-prod-us/predict`, D) as any;
  assert.deepEqual(regional.target, { kind: 'environment', name: 'prod-us' });
});

test('regional hosts take bare paths and refuse path-based routes with 400', () => {
  const r = parseRoute(`model-${ID}-staging.${D}`, '/predict', D) as any;
  assert.deepEqual(r.target, { kind: 'environment', name: 'staging' });
  assert.throws(
    () => parseRoute(`model-${ID}-staging.${D}`, '/production/predict', D),
    (e: GirderError) => e.status === 400 && e.code === 'client_error',
  );
});

test('a bare action on a non-regional host is a client error', () => {
  assert.throws(
    () => parseRoute(`model-${ID}.${D}`, '/predict', D),
    (e: GirderError) => e.status === 400,
  );
});

test('sync passthrough keeps the rest of the path and the query', () => {
  const r = parseRoute(`model-${ID}.${D}`, '/production/sync/v1/models?x=1', D) as any;
  assert.equal(r.action, 'sync');
  assert.equal(r.rest, '/v1/models?x=1');
});

test('async_request ids, management and OpenAI surfaces are recognised', () => {
  assert.deepEqual(parseRoute(`model-${ID}.${D}`, `/async_request/${'a'.repeat(32)}`, D), {
    surface: 'async_request',
    kind: 'model',
    id: ID,
    requestId: 'a'.repeat(32),
  });
  assert.deepEqual(parseRoute('localhost:1', '/api/v1/models', D), { surface: 'management', path: '/models' });
  assert.deepEqual(parseRoute(`api.${D}`, '/v1/models', D), { surface: 'management', path: '/models' });
  assert.deepEqual(parseRoute(`inference.${D}`, '/v1/chat/completions', D), {
    surface: 'openai',
    path: '/v1/chat/completions',
  });
  assert.deepEqual(parseRoute('localhost', '/metrics', D), { surface: 'metrics' });
});

test('unknown paths and actions are 404', () => {
  assert.throws(
    () => parseRoute('localhost', '/nothing', D),
    (e: GirderError) => e.status === 404,
  );
  assert.throws(
    () => parseRoute(`model-${ID}.${D}`, '/production/explode', D),
    (e: GirderError) => e.status === 404,
  );
  assert.throws(
    () => parseRoute(`model-${ID}.${D}`, '/production/predict/extra', D),
    (e: GirderError) => e.status === 404,
  );
});

test('an environment name is percent-decoded; a malformed escape is 400 client_error, not a URIError', () => {
  assert.deepEqual(parseRoute(D, `/model-${ID}/environments/my%2Denv/predict`, D), {
    surface: 'inference',
    kind: 'model',
    id: ID,
    target: { kind: 'environment', name: 'my-env' },
    action: 'predict',
    rest: '',
  });
  for (const bad of ['%E0', '%ZZ', '%', 'a%2']) {
    assert.throws(
      () => parseRoute(D, `/model-${ID}/environments/${bad}/predict`, D),
      (e: GirderError) => e.code === 'client_error' && e.status === 400 && /^Malformed URL/.test(e.message),
    );
  }
});

test('decodeSegment decodes UTF-8 escapes and refuses broken ones', () => {
  assert.equal(decodeSegment('caf%C3%A9'), 'café');
  assert.throws(
    () => decodeSegment('%ED%A0%80'),
    (e: GirderError) => e.code === 'client_error',
  ); // a lone surrogate
});
