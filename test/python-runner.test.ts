// The python runner through Girder: what a client of a /sync/ route sees of it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT, call, startGirder, type Running } from './helpers.ts';

const girder: Running = await startGirder({ after });
const model = await girder.deploy(join(ROOT, 'src/runtime/runners/python/fixtures/nesting'));

test('a /sync/ answer of the python runner does not name the runner or its Python in a Server header', async () => {
  const r = await call(`${girder.url}/model-${model.model.id}/production/sync/v1/models/model:predict`, {
    headers: { ...girder.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ hello: 'sync' }),
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { echo: { hello: 'sync' } });
  assert.doesNotMatch(String(r.headers.server ?? ''), /python/i);
});
