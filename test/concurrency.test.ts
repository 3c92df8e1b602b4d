import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, fixture, modelCopy, startGirder, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';

const girder: Running = await startGirder({ after });

test('a replica never gets more than predict_concurrency requests; the rest park and all succeed', async () => {
  // The counter server itself would take any number at once: only the gateway limits it to 2.
  const pushed = await girder.deploy(fixture('counter-server'));
  const url = `${girder.url}/model-${pushed.model.id}/production/predict`;
  const results = await Promise.all(
    Array.from({ length: 8 }, () => call(url, { headers: girder.auth, body: JSON.stringify({ sleep_ms: 100 }) })),
  );
  assert.deepEqual(
    results.map((r) => r.status),
    Array(8).fill(200),
  );
  assert.equal(Math.max(...results.map((r) => r.json.max_active)), 2);
});

test('requests spread over replicas, least loaded first', async () => {
  const pushed = await girder.push(modelCopy({ after }, fixture('counter-server'), { model_name: 'two-replicas' }));
  const base = `${girder.url}/api/v1/models/${pushed.model.id}/deployments/${pushed.deployment.id}`;
  await call(`${base}/autoscaling_settings`, {
    method: 'PATCH',
    headers: girder.auth,
    body: JSON.stringify({ min_replica: 2, max_replica: 2 }),
  });
  await waitFor(
    async () => (await call(base, { method: 'GET', headers: girder.auth })).json.active_replica_count === 2,
    20_000,
    'two ready replicas',
  );
  const url = `${girder.url}/model-${pushed.model.id}/production/predict`;
  const results = await Promise.all(
    Array.from({ length: 4 }, () => call(url, { headers: girder.auth, body: JSON.stringify({ sleep_ms: 200 }) })),
  );
  const pids = new Set(results.map((r) => r.json.pid));
  assert.equal(pids.size, 2, 'both replicas served');
  assert.deepEqual(
    results.map((r) => r.json.max_active),
    [2, 2, 2, 2],
    'each took its two slots, no more',
  );
});
