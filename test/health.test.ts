import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, fixture, modelCopy, startGirder, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';

const girder: Running = await startGirder({ after });

test('a replica whose readiness fails gets no traffic until it passes again', async () => {
  const m = await girder.deploy(modelCopy({ after }, fixture('health-switch'), { model_name: 'readiness' }));
  const base = `${girder.url}/model-${m.model.id}/production`;
  const status = async () =>
    (
      await call(`${girder.url}/api/v1/models/${m.model.id}/deployments/${m.deployment.id}`, {
        method: 'GET',
        headers: girder.auth,
      })
    ).json;
  assert.equal((await call(`${base}/sync/break-ready`, { headers: girder.auth })).status, 200);
  await waitFor(async () => (await status()).active_replica_count === 0, 10_000, 'traffic to stop');
  // No routable replica: a request now parks; mend readiness from the side and it gets served.
  const parked = call(`${base}/predict`, { headers: girder.auth, body: '{}' });
  const replica = girder.g.supervisor.replicas(m.deployment.id)[0];
  await fetch(`${replica.origin}/mend-ready`, { method: 'POST' });
  const r = await parked;
  assert.equal(r.status, 200, r.text);
  assert.equal((await status()).active_replica_count, 1);
});

test('a replica whose liveness fails past restart_threshold_seconds is replaced by a new process', {
  timeout: 60_000,
}, async () => {
  const m = await girder.deploy(modelCopy({ after }, fixture('health-switch'), { model_name: 'liveness' }));
  const base = `${girder.url}/model-${m.model.id}/production`;
  const before = (await call(`${base}/predict`, { headers: girder.auth, body: '{}' })).json.pid;
  await call(`${base}/sync/break-live`, { headers: girder.auth });
  await waitFor(
    async () => {
      const r = await call(`${base}/predict`, { headers: girder.auth, body: '{}' });
      return r.status === 200 && r.json.pid !== before;
    },
    40_000,
    'a new replica process',
  );
  const logs = await girder.g.logs.recent(m.deployment.id, 100);
  assert.ok(logs.some((l) => l.msg.includes('Health check failed: liveness')));
});
